/**
 * One active instance per projection: a session advisory lock held on a dedicated
 * connection. The checkpoint's compare-and-set in each batch is the fence behind it
 * (`LostLock`), for the moments the lock's connection died unnoticed.
 */
import type { DataSource, QueryRunner } from 'typeorm';
import { sleep } from './sleep.js';

/** How often the lock's connection is checked while pages come. */
const LOCK_CHECK_MS = 1_000;

export class LostLock extends Error {
  constructor(name: string) {
    super(`projection ${name}: another instance moved the checkpoint; this one stands down`);
  }
}

export class ProjectionLock {
  /** When the lock's connection was last seen alive. */
  private checkedAt = 0;

  private constructor(
    private readonly connection: QueryRunner,
    private readonly key: string,
  ) {}

  /**
   * Takes the projection's lock, trying again every `recheckMs` while another instance
   * holds it (`standingBy` is told each time); undefined when stopped meanwhile.
   */
  static async acquire(
    dataSource: DataSource,
    projection: string,
    recheckMs: number,
    signal: AbortSignal,
    standingBy: () => void,
  ): Promise<ProjectionLock | undefined> {
    const key = `herald.projection:${projection}`;
    while (!signal.aborted) {
      const connection = dataSource.createQueryRunner();
      let held = false;
      try {
        await connection.connect();
        const rows = (await connection.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key])) as {
          locked: boolean;
        }[];
        held = rows[0]?.locked === true;
        if (held) return new ProjectionLock(connection, key);
      } finally {
        if (!held) await connection.release().catch(() => undefined);
      }
      standingBy();
      await sleep(recheckMs, signal);
    }
    return undefined;
  }

  /**
   * Throws when the lock's connection died, and the lock with it. Looked at once a second:
   * meanwhile the checkpoint's compare-and-set is the fence.
   */
  async check(): Promise<void> {
    if (Date.now() - this.checkedAt < LOCK_CHECK_MS) return;
    await this.connection.query('SELECT 1');
    this.checkedAt = Date.now();
  }

  async release(): Promise<void> {
    await this.connection.query('SELECT pg_advisory_unlock(hashtext($1))', [this.key]).catch(() => undefined);
    await this.connection.release().catch(() => undefined);
  }
}
