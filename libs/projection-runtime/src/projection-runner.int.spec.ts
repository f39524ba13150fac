import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, type RecordedEvent } from '@herald/event-store';
import { eventually, range, testDatabaseUrl, testEvent as event, uniqueId } from '@herald/testing';
import type { DataSource, EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createReadModelDataSource } from './data-source.js';
import type { Projection } from './projection.js';
import { resolveParkedEvent } from './dead-letters.js';
import { ProjectionRunner } from './projection-runner.js';
import { PROJECTION_RUNTIME_MIGRATIONS } from './schema.js';

/**
 * The example projection: how many events each stream has, and the last revision seen.
 * `hooks.before` lets a test make a batch fail part-way, after some rows were written.
 */
function countingProjection(
  table: string,
  prefix: string,
  hooks: { during?: (event: RecordedEvent, manager: EntityManager) => Promise<void> } = {},
): Projection {
  return {
    name: `counts:${table}`,
    filter: { streamPrefixes: [prefix] },
    async apply(events, manager) {
      for (const event of events) {
        await manager.query(
          `INSERT INTO ${table} (stream_id, events, last_revision) VALUES ($1, 1, $2)
           ON CONFLICT (stream_id) DO UPDATE SET events = ${table}.events + 1, last_revision = $2`,
          [event.streamId, event.streamRevision],
        );
        await hooks.during?.(event, manager);
      }
    },
  };
}

describe('projection runner', () => {
  let store: PostgresEventStore;
  let dataSource: DataSource;
  const runners: ProjectionRunner[] = [];

  beforeAll(async () => {
    const url = testDatabaseUrl();
    store = new PostgresEventStore({ connectionString: url, pollIntervalMs: 50 });
    await store.migrate();
    dataSource = createReadModelDataSource({ url, poolSize: 20 });
    await dataSource.initialize();
    await migrateDatabase(url, PROJECTION_RUNTIME_MIGRATIONS);
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await dataSource?.destroy();
    await store?.close();
  });

  async function table(): Promise<string> {
    const name = uniqueId('counts_');
    await dataSource.query(
      `CREATE TABLE ${name} (stream_id text PRIMARY KEY, events int NOT NULL, last_revision bigint NOT NULL)`,
    );
    return name;
  }

  const counts = async (name: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await dataSource.query<{ stream_id: string; events: number }[]>(`SELECT stream_id, events FROM ${name}`)).map(
        (r) => [r.stream_id, r.events],
      ),
    );

  function runner(projection: Projection, batchSize = 20): ProjectionRunner {
    const r = new ProjectionRunner(store, dataSource, projection, {
      batchSize,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
      recheckMs: 50,
    });
    runners.push(r);
    return r;
  }

  async function write(prefix: string, streams: number, perStream: number): Promise<string> {
    let last = '';
    for (let s = 0; s < streams; s++) {
      const result = await store.append(
        `${prefix}${s}`,
        range(perStream).map(() => event('Counted')),
        'any',
      );
      last = result.checkpoint;
    }
    return last;
  }

  const expected = (prefix: string, streams: number, perStream: number): Record<string, number> =>
    Object.fromEntries(range(streams).map((s) => [`${prefix}${s}`, perStream]));

  it('applies every event once and stores its checkpoint with the read model', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const last = await write(prefix, 5, 10);
    const r = runner(countingProjection(t, prefix));
    r.start();
    expect(await r.waitFor(last as never, 10_000)).toBe(true);
    expect(await counts(t)).toEqual(expected(prefix, 5, 10));
    expect(r.status()).toMatchObject({ name: `counts:${t}`, state: 'running' });
    const stored = await dataSource.query<{ checkpoint: string }[]>(
      'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
      [`counts:${t}`],
    );
    expect(stored[0]!.checkpoint >= last).toBe(true);
    expect(await r.lag()).toBeGreaterThanOrEqual(0);
  });

  it('at the head of the log, lets events gather into fewer transactions, and a waiter ends the gathering at once', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    let batches = 0;
    const counting = countingProjection(t, prefix);
    const r = new ProjectionRunner(
      store,
      dataSource,
      {
        ...counting,
        async apply(events, manager) {
          batches++;
          await counting.apply(events, manager);
        },
      },
      { gatherMs: 1_000, recheckMs: 50 },
    );
    runners.push(r);
    r.start();
    expect(await r.waitFor((await write(prefix, 1, 1)) as never, 10_000)).toBe(true);
    const before = batches;
    // Twenty appends, one by one, while nobody waits: they gather.
    for (let i = 0; i < 20; i++) await write(`${prefix}g`, 1, 1);
    await eventually(async () => (await counts(t))[`${prefix}g0`] === 20, 10_000);
    expect(batches - before).toBeLessThanOrEqual(3);
    // Someone waits: applied well before the gathering would have ended.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const last = await write(`${prefix}w`, 1, 1);
    const started = Date.now();
    expect(await r.waitFor(last as never, 10_000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('a crash in the middle of a batch leaves no partial effect, and the retry applies it exactly once', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    let crashes = 0;
    let killed = 0;
    const r = runner(
      countingProjection(t, prefix, {
        during: async (event, manager) => {
          // First: an exception after part of the batch was written.
          if (event.streamRevision === 5 && event.streamId.endsWith('-1') && crashes === 0) {
            crashes++;
            throw new Error('crash mid-batch');
          }
          // Then: the connection dies mid-transaction, as when the process is killed.
          if (event.streamRevision === 7 && event.streamId.endsWith('-2') && killed === 0) {
            killed++;
            await manager.query('SELECT pg_terminate_backend(pg_backend_pid())');
          }
        },
      }),
      25,
    );
    const last = await write(prefix, 4, 12);
    r.start();
    expect(await r.waitFor(last as never, 15_000)).toBe(true);
    expect(crashes).toBe(1);
    expect(killed).toBe(1);
    expect(await counts(t)).toEqual(expected(prefix, 4, 12));
  });

  it('a restarted runner resumes from its checkpoint without applying anything twice', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const projection = countingProjection(t, prefix);
    const first = runner(projection, 7);
    first.start();
    const mid = await write(prefix, 3, 10);
    expect(await first.waitFor(mid as never, 10_000)).toBe(true);
    await first.stop();
    const last = await write(`${prefix}b`, 2, 5);
    const second = runner(projection, 7);
    second.start();
    expect(await second.waitFor(last as never, 10_000)).toBe(true);
    expect(await counts(t)).toEqual({ ...expected(prefix, 3, 10), ...expected(`${prefix}b`, 2, 5) });

    // A rebuild from the start into new tables gives the same read model.
    const rebuilt = await table();
    const rebuild = runner({ ...countingProjection(rebuilt, prefix), name: `rebuild:${rebuilt}` }, 3);
    rebuild.start();
    expect(await rebuild.waitFor(last as never, 10_000)).toBe(true);
    expect(await counts(rebuilt)).toEqual(await counts(t));
  });

  it('runs one instance at a time: the other stands by and takes over when the first stops', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const projection = countingProjection(t, prefix);
    const a = runner(projection, 5);
    const b = runner(projection, 5);
    a.start();
    await eventually(() => a.status().state === 'running');
    b.start();
    const last = await write(prefix, 4, 10);
    expect(await a.waitFor(last as never, 10_000)).toBe(true);
    await eventually(() => b.status().state === 'standby');
    expect(await counts(t)).toEqual(expected(prefix, 4, 10));
    await a.stop();
    const more = await write(`${prefix}x`, 2, 3);
    expect(await b.waitFor(more as never, 10_000)).toBe(true);
    expect(b.status().state).toBe('running');
    expect(await counts(t)).toEqual({ ...expected(prefix, 4, 10), ...expected(`${prefix}x`, 2, 3) });
  });

  /**
   * Runs `test` with another instance of the projection that `active` runs: its own
   * connections, and slow to try for the lock again, so that it stays the standby throughout.
   */
  async function withStandby(
    active: ProjectionRunner,
    standbyPollMs: number,
    test: (standby: ProjectionRunner, its: DataSource) => Promise<void>,
  ): Promise<void> {
    await eventually(() => active.status().state === 'running');
    const its = createReadModelDataSource({ url: testDatabaseUrl(), poolSize: 4 });
    await its.initialize();
    const standby = new ProjectionRunner(store, its, active.projection, { recheckMs: 600_000, standbyPollMs });
    try {
      standby.start();
      await eventually(() => standby.status().state === 'standby');
      await test(standby, its);
    } finally {
      await standby.stop();
      await its.destroy();
    }
  }

  it('a standby waits on the checkpoint the active instance stored, and counts events its filter skips', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const a = runner(countingProjection(t, prefix), 5);
    a.start();
    await withStandby(a, 20, async (b, itsDataSource) => {
      // Nobody applies these until A runs again: B's wait can only end through A's work.
      await a.stop();
      const last = await write(prefix, 3, 4);
      const waiting = b.waitFor(last as never, 10_000);
      a.start();
      expect(await waiting).toBe(true);
      const seen = await itsDataSource.query<{ stream_id: string; events: number }[]>(
        `SELECT stream_id, events FROM ${t}`,
      );
      expect(Object.fromEntries(seen.map((r) => [r.stream_id, r.events]))).toEqual(expected(prefix, 3, 4));

      // An event the filter skips moves no stored checkpoint, yet nothing is missing up to it.
      const skipped = (await store.append(`${uniqueId('other')}-0`, [event('Counted')], 'no_stream')).checkpoint;
      expect(await b.waitFor(skipped, 10_000)).toBe(true);
      // Many of them: more than one look at the log covers.
      const others = uniqueId('other');
      let many = skipped;
      for (let i = 0; i < 60; i++)
        many = (await store.append(`${others}-${i}`, [event('Counted')], 'no_stream')).checkpoint;
      expect(await b.waitFor(many, 5_000)).toBe(true);
      expect(b.status().state).toBe('standby');
    });
  });

  it("a standby's wait times out while the active instance is stopped, with one read per interval however many wait", async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const a = runner(countingProjection(t, prefix), 5);
    a.start();
    const pollMs = 50;
    await withStandby(a, pollMs, async (b, itsDataSource) => {
      await a.stop();
      const last = await write(prefix, 1, 2);
      const reads = vi.spyOn(itsDataSource, 'query');
      const started = Date.now();
      const waits = await Promise.all(range(20).map(() => b.waitFor(last as never, 500)));
      const elapsed = Date.now() - started;
      expect(waits).toEqual(range(20).map(() => false));
      const checkpointReads = reads.mock.calls.filter(([sql]) => sql.includes('herald_projection_checkpoints')).length;
      expect(checkpointReads).toBeGreaterThan(0);
      // The first read at once, then at most one per interval while anyone waits.
      expect(checkpointReads).toBeLessThanOrEqual(2 + Math.ceil(elapsed / pollMs));
      expect(await counts(t)).toEqual({});
    });
  });

  it('a runner stopped while it backs off from a failure parks nothing', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    // Fails until the runner has been stopped (as when the failure comes from the shutdown).
    let healthy = false;
    let failures = 0;
    const projection = countingProjection(t, prefix, {
      during: () => (healthy ? Promise.resolve() : Promise.reject(new Error(`failure ${++failures}`))),
    });
    const r = new ProjectionRunner(store, dataSource, projection, {
      maxAttempts: 2,
      initialBackoffMs: 5_000,
      maxBackoffMs: 5_000,
    });
    runners.push(r);
    const last = (await store.append(`${prefix}0`, [event('Counted')], 'no_stream')).checkpoint;
    r.start();
    await eventually(() => failures > 0);
    await r.stop();
    const letters = await dataSource.query<unknown[]>(
      'SELECT 1 FROM herald_projection_dead_letters WHERE projection = $1',
      [projection.name],
    );
    expect(letters).toEqual([]);
    healthy = true;
    r.start();
    expect(await r.waitFor(last, 10_000)).toBe(true);
    expect(await counts(t)).toEqual({ [`${prefix}0`]: 1 });
  });

  it('parks an event that keeps failing, stops at it, and goes on only when an operator resolves it', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const projection = countingProjection(t, prefix, {
      during: (event) => {
        if (event.type === 'Poison') return Promise.reject(new Error('cannot apply Poison'));
        return Promise.resolve();
      },
    });
    const r = runner(projection, 50);
    await store.append(`${prefix}0`, [event('Counted'), event('Counted')], 'no_stream');
    const poison = event('Poison');
    await store.append(`${prefix}0`, [poison], 1);
    const last = (await store.append(`${prefix}0`, [event('Counted')], 2)).checkpoint;
    r.start();
    await eventually(() => r.status().state === 'stopped');
    const status = r.status();
    expect(status.parked).toMatchObject({
      eventId: poison.eventId,
      eventType: 'Poison',
      streamRevision: 2,
      attempts: 3,
    });
    expect(status.parked!.error).toContain('cannot apply Poison');
    // Events before it are applied, the ones after wait.
    expect(await counts(t)).toEqual({ [`${prefix}0`]: 2 });
    const letters = await dataSource.query<{ event_id: string; resolved_at: Date | null }[]>(
      'SELECT event_id::text, resolved_at FROM herald_projection_dead_letters WHERE projection = $1',
      [projection.name],
    );
    expect(letters).toEqual([{ event_id: poison.eventId, resolved_at: null }]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.status().state).toBe('stopped');

    expect(await resolveParkedEvent(dataSource, projection.name, 'skip')).toBe(true);
    expect(await r.waitFor(last, 10_000)).toBe(true);
    expect(await counts(t)).toEqual({ [`${prefix}0`]: 3 });
    expect(r.status().parked).toBeUndefined();
    expect(await resolveParkedEvent(dataSource, projection.name, 'skip')).toBe(false);
  });

  it('a passive runner (RUN_PROJECTIONS=false) never applies: it follows the active one, and its lag looks past skipped events', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const projection = countingProjection(t, prefix);
    const passive = new ProjectionRunner(store, dataSource, projection, { passive: true, standbyPollMs: 20 });
    runners.push(passive);
    passive.start();
    expect(passive.status().state).toBe('remote');
    const last = await write(prefix, 2, 3);
    // Nobody applies yet: the wait ends unreached, and nothing was written by the passive runner.
    expect(await passive.waitFor(last as never, 300)).toBe(false);
    expect(await counts(t)).toEqual({});
    const active = runner(projection, 5);
    active.start();
    expect(await passive.waitFor(last as never, 10_000)).toBe(true);
    expect(await counts(t)).toEqual(expected(prefix, 2, 3));
    expect(passive.active).toBe(false);
    expect(active.active).toBe(true);
    // Events the filter skips after the last one applied are not behind.
    await store.append(`${uniqueId('other')}-0`, [event('Counted')], 'no_stream');
    await eventually(async () => (await passive.lag()) === 0);
    expect(passive.status().state).toBe('remote');
  });

  it('a holder whose lock session ends (the lease ran out, an operator ended it) stands down, and a standby takes over', async () => {
    const t = await table();
    const prefix = `${uniqueId('p')}-`;
    const projection = countingProjection(t, prefix);
    const warnings: string[] = [];
    const a = new ProjectionRunner(store, dataSource, projection, {
      batchSize: 5,
      initialBackoffMs: 10,
      maxBackoffMs: 100,
      recheckMs: 50,
      log: (level, message) => level === 'warn' && warnings.push(message),
    });
    runners.push(a);
    a.start();
    await eventually(() => a.active);
    const its = createReadModelDataSource({ url: testDatabaseUrl(), poolSize: 4 });
    await its.initialize();
    const b = new ProjectionRunner(store, its, projection, { recheckMs: 50 });
    try {
      b.start();
      await eventually(() => b.status().state === 'standby');
      // The server ends A's lock session, as it does when the lease runs out.
      await dataSource.query(
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.objid = (hashtext($1)::bigint & 4294967295)::oid AND s.application_name = 'herald-projection-lock'`,
        [`herald.projection:${projection.name}`],
      );
      // A learns it at once (its connection's error), not at its next page, and stands down
      // (it may win the free lock again before B's next try); someone holds it.
      await eventually(() => warnings.some((w) => w.includes('its lock was lost')), 5_000);
      await eventually(() => a.active !== b.active && (a.active || b.active), 5_000);
      const last = await write(prefix, 2, 2);
      expect(await a.waitFor(last as never, 10_000)).toBe(true);
      expect(await b.waitFor(last as never, 10_000)).toBe(true);
      expect(await counts(t)).toEqual(expected(prefix, 2, 2));
    } finally {
      await b.stop();
      await its.destroy();
    }
  });

  it("the server ends a silent holder's lock session after the lease (idle_session_timeout)", async () => {
    const { ProjectionLock } = await import('./lock.js');
    const controller = new AbortController();
    const name = uniqueId('leased');
    const lock = await ProjectionLock.acquire(
      dataSource,
      name,
      { recheckMs: 50, leaseMs: 1_000 },
      controller.signal,
      () => undefined,
    );
    expect(lock).toBeDefined();
    // Silence the holder: no more touches, as a frozen process would not send them.
    clearInterval((lock as unknown as { heartbeat: NodeJS.Timeout }).heartbeat);
    const started = Date.now();
    await new Promise<void>((resolve) => lock!.lost.addEventListener('abort', () => resolve(), { once: true }));
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(5_000);
    // Free for another holder.
    const next = await ProjectionLock.acquire(
      dataSource,
      name,
      { recheckMs: 50, leaseMs: 1_000 },
      controller.signal,
      () => undefined,
    );
    expect(next).toBeDefined();
    await next!.release();
    await lock!.release();
  });
});
