import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const EVENTS_CHANNEL = 'herald_events';

/** Where a notifier says it started listening, so that writers start notifying it at once. */
export const LISTENERS_CHANNEL = 'herald_listeners';

/** What every notifier's listening connection calls itself (pg_stat_activity.application_name). */
export const LISTENER_APPLICATION = 'herald-notifier';

/**
 * How long a writer trusts what it found about other listeners before looking again (while
 * it appends). A newcomer announces itself at once; this bounds how long a writer keeps
 * notifying after the last other listener left, and the wait (its poll interval at most per
 * event) of a listener whose announcement was lost.
 */
export const LISTENERS_RECHECK_MS = 2_000;

/** The pool's query, as publish uses it (a pg.Pool). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

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
  /**
   * Whether a listener other than this notifier's own is connected to this database
   * (channels are per database): another process, or another store in this one; as last
   * found, and when. Undefined: not known yet.
   */
  private othersListen: boolean | undefined;
  private othersCheckedAt = 0;
  private checkingOthers = false;
  /** The server process of this notifier's own listening connection. */
  private listenerPid = 0;
  /** A listener announced itself while a lookup ran: the lookup's answer is older. */
  private announcedDuringCheck = false;

  constructor(private readonly connectionString: string) {}

  /** NOTIFYs sent (issue 17: skipped while nobody else listens). */
  notifiesSent = 0;

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
   * While no other listener is connected (one process, `npm start`), no NOTIFY is sent at
   * all: it would cost PostgreSQL a statement per write transaction for nobody. Whether
   * one is connected is looked up at most every LISTENERS_RECHECK_MS while appends come,
   * and a listener that starts announces itself (LISTENERS_CHANNEL), so it is notified
   * from then on without waiting for that.
   */
  publish(pool: Queryable): void {
    this.wakeAll();
    if (Date.now() - this.othersCheckedAt >= LISTENERS_RECHECK_MS) this.checkOthers(pool);
    // Unknown yet: notify, to be safe.
    if (this.othersListen === false) return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    this.notifiesSent++;
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

  /** Looks up whether a listening connection other than this notifier's own is open. */
  private checkOthers(pool: Queryable): void {
    if (this.checkingOthers) return;
    this.checkingOthers = true;
    pool
      .query(
        `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                         WHERE application_name = '${LISTENER_APPLICATION}' AND pid <> $1
                           AND datname = current_database()) AS others`,
        [this.client ? this.listenerPid : 0],
      )
      .then(({ rows }) => {
        const checked = Boolean((rows[0] as { others?: boolean } | undefined)?.others);
        // An announcement that came meanwhile wins: it is newer than the lookup's snapshot.
        if (!this.announcedDuringCheck) this.othersListen = checked;
        this.othersCheckedAt = Date.now();
      })
      .catch(() => {
        // Not known: notify until a lookup succeeds.
        this.othersListen = undefined;
      })
      .finally(() => {
        this.checkingOthers = false;
        this.announcedDuringCheck = false;
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
    const client = new pg.Client({ connectionString: this.connectionString, application_name: LISTENER_APPLICATION });
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
      if (message.payload === this.origin) return;
      if (message.channel === LISTENERS_CHANNEL) {
        // Another listener started: notify it from the next commit on.
        this.othersListen = true;
        this.othersCheckedAt = Date.now();
        if (this.checkingOthers) this.announcedDuringCheck = true;
      } else {
        this.wakeAll();
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}; LISTEN ${LISTENERS_CHANNEL}`);
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      this.listenerPid = rows[0]!.pid;
      // Listening now: writers elsewhere that skip their NOTIFYs while nobody listens start
      // sending them. Events they committed before this only wait for the next poll.
      await client.query(`SELECT pg_notify('${LISTENERS_CHANNEL}', $1)`, [this.origin]);
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
