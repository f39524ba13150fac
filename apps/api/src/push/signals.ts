/**
 * Ephemeral signals between the API nodes that share one PostgreSQL: typing, and hints
 * that some users' presence changed. PostgreSQL LISTEN/NOTIFY on one channel, one
 * dedicated listening connection per node (reconnected after an error, as the event
 * store's notifier does). Signals are not events: nothing is stored, and a node whose
 * listening connection was down missed what was sent meanwhile (`onResume` tells it to
 * refresh what it shows; a lost typing signal is worth nothing anyway).
 *
 * Each node tags what it sends with its node id and ignores its own. Sending is batched:
 * at most one NOTIFY in flight, carrying everything queued meanwhile, so a burst costs a
 * few round trips rather than one per signal. Payloads are ids only, never message text.
 */
import pg from 'pg';
import { z } from 'zod';
import { Drain } from './drain.js';

export const SIGNALS_CHANNEL = 'herald_signals';
/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_NOTIFY_BYTES = 7_000;
/** User ids per presence hint, so that one hint always fits a payload. */
const HINT_IDS = 100;
/** Typing signals waiting to be sent past this are dropped (the database is slow or away). */
const MAX_QUEUED = 10_000;
const RECONNECT_MS = 1_000;

export type Signal =
  | { readonly kind: 'typing'; readonly conversationId: string; readonly userId: string }
  /** These users' presence may have changed: read it again. */
  | { readonly kind: 'presence'; readonly userIds: readonly string[] }
  /** A node stopped or was found dead: its users' sockets are gone. */
  | { readonly kind: 'node-gone'; readonly nodeId: string };

const SignalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('typing'), conversationId: z.uuid(), userId: z.uuid() }),
  z.object({ kind: z.literal('presence'), userIds: z.array(z.uuid()) }),
  z.object({ kind: z.literal('node-gone'), nodeId: z.uuid() }),
]);
const Payload = z.object({ node: z.uuid(), signals: z.array(SignalSchema) });

export interface SignalBusOptions {
  readonly connectionString: string;
  readonly nodeId: string;
  /** Runs a statement on the app's pool: sending does not depend on the listening connection. */
  readonly query: (sql: string, params: unknown[]) => Promise<unknown>;
  /** Signals from the other nodes, in the order they were sent. */
  readonly onSignals: (signals: readonly Signal[]) => void;
  /** The listening connection is up (again): signals may have been missed meanwhile. */
  readonly onResume: () => void;
  readonly log: (level: 'warn' | 'error', message: string) => void;
}

export class SignalBus {
  private client: pg.Client | undefined;
  private closed = false;
  private closing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly outbox: Signal[] = [];
  private readonly sending = new Drain(
    () => this.send(),
    () => this.outbox.length > 0 && !this.closing,
  );

  constructor(private readonly options: SignalBusOptions) {}

  /** Listens; a failure is logged and retried in the background rather than stopping start-up. */
  async start(): Promise<void> {
    await this.listen();
  }

  /** Queues a signal for the other nodes. */
  publish(signal: Signal): void {
    if (this.closed) return;
    if (signal.kind === 'presence') {
      for (let i = 0; i < signal.userIds.length; i += HINT_IDS)
        this.outbox.push({ kind: 'presence', userIds: signal.userIds.slice(i, i + HINT_IDS) });
    } else {
      if (signal.kind === 'typing' && this.outbox.length >= MAX_QUEUED) return;
      this.outbox.push(signal);
    }
    this.sending.kick();
  }

  /** Sends what is queued (a node's last words: `node-gone`), then stops listening. */
  async close(): Promise<void> {
    // What is queued now is sent (the run in progress goes on); nothing starts after it.
    this.closing = true;
    await this.sending.idle();
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async send(): Promise<void> {
    while (this.outbox.length > 0) {
      const batch = this.take();
      const payload = JSON.stringify({ node: this.options.nodeId, signals: batch });
      try {
        await this.options.query('SELECT pg_notify($1, $2)', [SIGNALS_CHANNEL, payload]);
      } catch (error) {
        if (this.closing) return;
        // Typing is worth nothing late; presence is sent again, or a node would show a stale state.
        this.outbox.unshift(...batch.filter((s) => s.kind !== 'typing'));
        this.options.log('warn', `signals not sent: ${message(error)}; retrying`);
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
    }
  }

  /** As many queued signals as fit one NOTIFY payload. */
  private take(): Signal[] {
    const batch: Signal[] = [];
    let bytes = 100;
    while (this.outbox.length > 0) {
      const size = Buffer.byteLength(JSON.stringify(this.outbox[0])) + 1;
      if (batch.length > 0 && bytes + size > MAX_NOTIFY_BYTES) break;
      batch.push(this.outbox.shift()!);
      bytes += size;
    }
    return batch;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'herald-signals',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    let lostAlready = false;
    const lost = (error?: Error): void => {
      if (lostAlready) return;
      lostAlready = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.options.log('warn', `signal listener lost${error ? `: ${error.message}` : ''}; reconnecting`);
      this.reconnectTimer ??= setTimeout(() => {
        this.reconnectTimer = undefined;
        void this.listen();
      }, RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (notification) => {
      if (notification.channel === SIGNALS_CHANNEL) this.received(notification.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SIGNALS_CHANNEL}`);
    } catch (error) {
      lost(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.options.onResume();
  }

  private received(payload: string | undefined): void {
    let parsed: z.infer<typeof Payload>;
    try {
      parsed = Payload.parse(JSON.parse(payload ?? ''));
    } catch {
      this.options.log('warn', 'signal ignored: not a signal payload');
      return;
    }
    if (parsed.node === this.options.nodeId) return;
    this.options.onSignals(parsed.signals);
  }
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
