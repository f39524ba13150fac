import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const EVENTS_CHANNEL = 'herald_events';

/**
 * Wakes followers of the log when an append commits (LISTEN/NOTIFY). Followers also poll,
 * so a lost notification or a dropped listening connection only delays them.
 */
export class Notifier {
  private client: pg.Client | undefined;
  private starting: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private notifying = false;
  private notifyAgain = false;
  /**
   * Sent with this notifier's NOTIFYs. They come back to its own LISTEN, and its followers
   * were woken at the commit already: waking them again would only read the log again.
   */
  private readonly origin = randomUUID();

  constructor(private readonly connectionString: string) {}

  /** Counts notifications, so a waiter can tell whether one came since it last looked. */
  generation = 0;

  /**
   * Resolves on the next notification (at once if one came after `since`, a `generation`
   * read earlier), after `timeoutMs`, or when `signal` aborts.
   */
  wait(timeoutMs: number, signal?: AbortSignal, since = this.generation): Promise<void> {
    this.ensureListening();
    if (this.generation !== since || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /**
   * Tells followers that events were committed: at once in this process, and through
   * NOTIFY to the others. NOTIFYs are coalesced (at most one in flight) and sent outside
   * the writing transaction; a lost one only delays followers until their next poll.
   */
  publish(pool: pg.Pool): void {
    this.wakeAll();
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    pool
      .query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [this.origin])
      .catch(() => undefined)
      .finally(() => {
        this.notifying = false;
        if (this.notifyAgain && !this.closed) {
          this.notifyAgain = false;
          this.publish(pool);
        }
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.wakeAll();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private ensureListening(): void {
    if (this.client || this.starting || this.closed) return;
    this.starting = this.listen().finally(() => (this.starting = undefined));
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'herald-notifier' });
    const lost = (): void => {
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      this.wakeAll();
      if (!this.closed && !this.reconnectTimer) {
        this.reconnectTimer = setTimeout(() => {
          this.reconnectTimer = undefined;
          if (this.waiters.size > 0) this.ensureListening();
        }, 1_000);
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.payload !== this.origin) this.wakeAll();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
    } catch {
      lost();
    }
  }

  private wakeAll(): void {
    this.generation++;
    for (const wake of [...this.waiters]) wake();
  }
}
