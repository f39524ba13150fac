/**
 * One of `npm run bench:connections`' load-generator processes (forked by bench/connections.ts,
 * so that 20,000 clients' handshakes and frames are spread over several processes): holds
 * its share of the WebSocket clients, each a distinct user syncing its conversations, and
 * answers the parent's requests over IPC.
 *
 * - `open`: connects the given users (at most OPENING at once), each sends one `sync` naming
 *   its conversations at the seq it has; answered once every one was sent `synced` for all.
 * - `reconnect`: every client whose socket closed (the server restarted) connects again at
 *   once and syncs from the seqs it has; a refused handshake (HTTP 503/429 with Retry-After,
 *   or a connection refused) is retried after the delay asked, with jitter, and so is a
 *   sync answered PUSH.UNAVAILABLE (try again) or an attempt not over in a minute. Answered
 *   with how long until the last one was synced again, how many attempts were refused, and
 *   how many syncs were answered PUSH.UNAVAILABLE.
 * - `close`: closes every client.
 *
 * The clients answer pings (the `ws` library does), and send nothing else: idle sockets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';

export interface BenchUser {
  readonly token: string;
  /** Conversation id → the seq the client has. */
  readonly conversations: Record<string, number>;
}

export type ToClients =
  | { readonly type: 'open'; readonly port: number; readonly users: readonly BenchUser[] }
  | { readonly type: 'reconnect'; readonly port: number }
  | { readonly type: 'close' };

export type FromClients =
  | { readonly type: 'opened'; readonly open: number; readonly failed: number; readonly error?: string }
  | {
      readonly type: 'reconnected';
      readonly ms: number;
      readonly refused: number;
      readonly failed: number;
      readonly unavailable: number;
    }
  | { readonly type: 'closed' };

/** Handshakes one process has in flight while opening (the step's sockets, not a storm). */
const OPENING = 200;
/** A reconnect that is still not synced after this long counts as failed. */
const RECONNECT_DEADLINE_MS = 180_000;
/** One attempt (handshake and sync) that has not ended after this long is given up and retried. */
const ATTEMPT_MS = 60_000;
/** Syncs answered PUSH.UNAVAILABLE (then retried). */
let unavailable = 0;

class Client {
  socket: WebSocket | undefined;
  /** Whether the current socket was sent `synced` for every conversation. */
  synced = false;

  constructor(readonly user: BenchUser) {}

  /**
   * Connects and syncs; resolves true once synced, false when the handshake was refused
   * (`retryMs` set) or the socket failed before it synced.
   */
  connect(port: number, onClose: () => void): Promise<{ ok: boolean; retryMs: number }> {
    this.synced = false;
    return new Promise((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
        headers: { authorization: `Bearer ${this.user.token}` },
        perMessageDeflate: false,
      });
      this.socket = socket;
      let waiting = Object.keys(this.user.conversations).length;
      let settled = false;
      const settle = (ok: boolean, retryMs = 0): void => {
        if (settled) return;
        settled = true;
        resolve({ ok, retryMs });
      };
      socket.once('unexpected-response', (_request, response) => {
        const retryAfter = Number(response.headers['retry-after'] ?? 1);
        response.resume();
        socket.terminate();
        settle(false, retryAfter * 1000);
      });
      socket.once('error', () => settle(false, 500));
      socket.once('open', () => socket.send(JSON.stringify({ type: 'sync', conversations: this.user.conversations })));
      socket.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        if (text.startsWith('{"type":"synced"')) {
          if (--waiting === 0) {
            this.synced = true;
            settle(true);
          }
        } else if (text.startsWith('{"type":"event"')) {
          // Nothing is sent in this benchmark: a client that has the head is sent no history.
        } else if (text.includes('"PUSH.UNAVAILABLE"')) {
          // The server could not do it now (its database pool was exhausted): a client tries
          // again, here by reconnecting after a second.
          unavailable++;
          socket.terminate();
          settle(false, 1_000);
        } else {
          console.error(`unexpected frame: ${text.slice(0, 200)}`);
        }
      });
      // However the server answers (or not), an attempt ends: one that hangs is retried.
      const timeout = setTimeout(() => {
        socket.terminate();
        settle(false, 1_000);
      }, ATTEMPT_MS);
      socket.once('close', () => clearTimeout(timeout));
      socket.once('close', () => {
        this.synced = false;
        settle(false, 500);
        onClose();
      });
    });
  }
}

const clients: Client[] = [];
const closed = (): void => undefined;

async function open(port: number, users: readonly BenchUser[]): Promise<FromClients> {
  const fresh = users.map((user) => new Client(user));
  clients.push(...fresh);
  let next = 0;
  let failed = 0;
  let error: string | undefined;
  await Promise.all(
    Array.from({ length: OPENING }, async () => {
      while (next < fresh.length) {
        const client = fresh[next++]!;
        for (let attempt = 0; ; attempt++) {
          const { ok, retryMs } = await client.connect(port, closed);
          if (ok) break;
          if (attempt === 20) {
            failed++;
            error = 'a client could not connect and sync in 20 attempts';
            break;
          }
          await sleep(retryMs * (0.5 + Math.random()));
        }
      }
    }),
  );
  return { type: 'opened', open: clients.filter((c) => c.synced).length, failed, ...(error ? { error } : {}) };
}

async function reconnect(port: number): Promise<FromClients> {
  const began = performance.now();
  const deadline = Date.now() + RECONNECT_DEADLINE_MS;
  let refused = 0;
  let failed = 0;
  unavailable = 0;
  // Every client at once: the storm after a restart.
  await Promise.all(
    clients.map(async (client) => {
      if (client.synced && client.socket?.readyState === WebSocket.OPEN) return;
      for (;;) {
        const { ok, retryMs } = await client.connect(port, closed);
        if (ok) return;
        refused++;
        if (Date.now() > deadline) {
          failed++;
          return;
        }
        await sleep(retryMs * (0.5 + Math.random()));
      }
    }),
  );
  return { type: 'reconnected', ms: Math.round(performance.now() - began), refused, failed, unavailable };
}

async function close(): Promise<FromClients> {
  await Promise.all(
    clients.map(
      (client) =>
        new Promise<void>((resolve) => {
          const socket = client.socket;
          if (!socket || socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
          socket.close();
          setTimeout(() => {
            socket.terminate();
            resolve();
          }, 5_000).unref();
        }),
    ),
  );
  clients.length = 0;
  return { type: 'closed' };
}

process.on('message', (message: ToClients) => {
  const answer = (reply: FromClients): void => {
    process.send!(reply);
  };
  switch (message.type) {
    case 'open':
      void open(message.port, message.users).then(answer);
      break;
    case 'reconnect':
      void reconnect(message.port).then(answer);
      break;
    case 'close':
      void close().then(answer);
      break;
    default: {
      const unhandled: never = message;
      return unhandled;
    }
  }
});
