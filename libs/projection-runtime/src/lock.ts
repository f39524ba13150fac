/**
 * One active instance per projection: a session advisory lock, held on a connection of its
 * own and leased. The checkpoint's compare-and-set in each batch is the fence behind it
 * (`LostLock`), for the moments two instances both believe they hold it.
 *
 * The lease: the holder's session has `idle_session_timeout` set to the lease, and the
 * holder touches it several times per lease. A holder that dies outright (a crash,
 * `kill -9`) closes its connection and PostgreSQL frees the lock at once; one that stops
 * answering without closing it (frozen, its host gone, its network cut) is ended by the
 * server after the lease, whatever TCP believes. Either way a standby's next try takes the
 * lock: a takeover within `recheckMs` of a death, within the lease plus `recheckMs` of a
 * silence (ADR 028).
 */
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { sleep } from './sleep.js';

/** How the lock's connection names itself to the server (pg_stat_activity). */
export const LOCK_APPLICATION_NAME = 'herald-projection-lock';

export class LostLock extends Error {
  constructor(name: string, why = 'another instance moved the checkpoint') {
    super(`projection ${name}: ${why}; this one stands down`);
  }
}

export interface LockTiming {
  /** How often a standby tries for the lock. */
  readonly recheckMs: number;
  /** How long the server keeps a silent holder's session (and lock): PROJECTION_LEASE_MS. */
  readonly leaseMs: number;
}

/** The holder touches its session this often: four times per lease, at most once a second. */
export const heartbeatMs = (leaseMs: number): number => Math.min(1_000, Math.floor(leaseMs / 4));

/** The connection string the read models' data source was made with: the lock's own connection goes there too. */
function urlOf(dataSource: DataSource): string {
  const url = (dataSource.options as { url?: string }).url;
  if (!url) throw new Error('the projection lock needs a data source made with a url (createReadModelDataSource)');
  return url;
}

async function connect(url: string, onError: (error: Error) => void): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    application_name: LOCK_APPLICATION_NAME,
    connectionTimeoutMillis: 10_000,
    // This side notices a dead server too, not only the server a dead holder.
    keepAlive: true,
  });
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

export class ProjectionLock {
  private readonly lostController = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private touching = false;

  private constructor(
    private readonly client: pg.Client,
    private readonly key: string,
    private readonly projection: string,
  ) {}

  /** Aborts when the lock is lost: its session ended (the lease ran out, the server restarted) or cannot be reached. */
  get lost(): AbortSignal {
    return this.lostController.signal;
  }

  /**
   * Takes the projection's lock, trying again every `recheckMs` while another instance
   * holds it (`standingBy` is told each time); undefined when stopped meanwhile. A standby
   * keeps its connection between tries. Throws when the database cannot be reached.
   * `leased` tells whether the server enforces the lease (PostgreSQL 14 and later).
   */
  static async acquire(
    dataSource: DataSource,
    projection: string,
    timing: LockTiming,
    signal: AbortSignal,
    standingBy: () => void,
    leased: (enforced: boolean) => void = () => undefined,
  ): Promise<ProjectionLock | undefined> {
    const key = `herald.projection:${projection}`;
    const url = urlOf(dataSource);
    let client: pg.Client | undefined;
    let lock: ProjectionLock | undefined;
    // Until the lock is held, an error on the connection only means the next try reconnects.
    const beforeHeld = (): void => {
      if (lock) lock.lose();
      else client = undefined;
    };
    try {
      while (!signal.aborted) {
        const current = (client ??= await connect(url, beforeHeld));
        const { rows } = await current.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
          [key],
        );
        if (rows[0]?.locked === true) {
          lock = new ProjectionLock(current, key, projection);
          client = undefined;
          leased(await lock.lease(timing.leaseMs));
          return lock;
        }
        standingBy();
        await sleep(timing.recheckMs, signal);
      }
      return undefined;
    } catch (error) {
      await lock?.release();
      throw error;
    } finally {
      if (client) await client.end().catch(() => undefined);
    }
  }

  /** Sets the session's lease and starts touching it; false when the server has no idle_session_timeout (before 14). */
  private async lease(leaseMs: number): Promise<boolean> {
    let enforced = true;
    try {
      await this.client.query(`SET idle_session_timeout = ${Math.floor(leaseMs)}`);
    } catch (error) {
      // 42704: unrecognized configuration parameter. The lock then lasts as long as the
      // server believes the connection is alive.
      if ((error as { code?: string }).code !== '42704') throw error;
      enforced = false;
    }
    this.heartbeat = setInterval(() => this.touch(), heartbeatMs(leaseMs));
    this.heartbeat.unref();
    return enforced;
  }

  private touch(): void {
    if (this.touching || this.lost.aborted) return;
    this.touching = true;
    this.client
      .query('SELECT 1')
      .catch(() => this.lose())
      .finally(() => (this.touching = false));
  }

  private lose(): void {
    clearInterval(this.heartbeat);
    if (!this.lost.aborted) this.lostController.abort(new LostLock(this.projection, 'its lock was lost'));
  }

  /** Throws LostLock once the lock's session is gone. */
  check(): void {
    if (this.lost.aborted) throw new LostLock(this.projection, 'its lock was lost');
  }

  async release(): Promise<void> {
    clearInterval(this.heartbeat);
    if (!this.lost.aborted) {
      await this.client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.key]).catch(() => undefined);
    }
    this.lostController.abort(new LostLock(this.projection, 'it released its lock'));
    await this.client.end().catch(() => undefined);
  }
}
