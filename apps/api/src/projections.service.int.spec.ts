/**
 * Fail closed: a read model that authorization depends on is trusted only while it
 * follows the log. Behind by more than MAX_STALENESS_MS, or stopped at a parked event on
 * any instance, `requireCurrent` refuses (the API answers 503).
 */
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import { eventually, freshDatabase, testEvent, uniqueId } from '@herald/testing';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAG_CACHE_MS, MAX_STALENESS_MS, ProjectionsService } from './projections.service.js';

let store: PostgresEventStore;
let db: DataSource;
const services: ProjectionsService[] = [];

beforeAll(async () => {
  const url = await freshDatabase();
  store = new PostgresEventStore({ connectionString: url, poolSize: 4 });
  await store.migrate();
  await migrateDatabase(url, PROJECTION_RUNTIME_MIGRATIONS);
  db = await createReadModelDataSource({ url, poolSize: 8 }).initialize();
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.beforeApplicationShutdown()));
  await db?.destroy();
  await store?.close();
});

/** A projection whose `Slow` events wait until the test opens the gate. */
function gated(prefix: string): { projection: Projection; open: () => void } {
  let open = (): void => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    projection: {
      name: `gated:${prefix}`,
      filter: { streamPrefixes: [prefix] },
      async apply(events) {
        if (events.some((e) => e.type === 'Slow')) await gate;
      },
    },
    open: () => open(),
  };
}

function service(projection: Projection): ProjectionsService {
  const s = new ProjectionsService(store, db, [projection], new JsonLogger('fatal'));
  s.onApplicationBootstrap();
  services.push(s);
  return s;
}

const refusal = (promise: Promise<void>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => (error as { code?: string }).code,
  );

describe('requireCurrent: authorization fails closed', () => {
  it(`refuses once an event waits unapplied for more than ${MAX_STALENESS_MS} ms, and trusts it again once applied`, async () => {
    const prefix = `${uniqueId('gate')}-`;
    const { projection, open } = gated(prefix);
    const active = service(projection);
    await eventually(async () => (await refusal(active.requireCurrent(projection.name))) === undefined);

    await store.append(`${prefix}1`, [testEvent('Slow')], 'any');
    // Recent: within the bound, still trusted.
    expect(await refusal(active.requireCurrent(projection.name))).toBeUndefined();
    await new Promise((r) => setTimeout(r, MAX_STALENESS_MS + 500));
    expect(await refusal(active.requireCurrent(projection.name))).toBe('PROJECTIONS.UNAVAILABLE');

    open();
    await eventually(async () => (await refusal(active.requireCurrent(projection.name))) === undefined);
  }, 30_000);

  it('an instance that stands by sees the active one stopped at a parked event', async () => {
    const prefix = `${uniqueId('park')}-`;
    const { projection } = gated(prefix);
    const active = service(projection);
    const standby = service(projection);
    await eventually(async () => {
      const states = [...(await active.health()), ...(await standby.health())].map((h) => h.state).sort();
      return states.join() === 'running,standby';
    });
    expect(await refusal(standby.requireCurrent(projection.name))).toBeUndefined();

    // As the active instance records a park (this test writes the row itself).
    await db.query(
      `INSERT INTO herald_projection_dead_letters
         (projection, event_id, stream_id, stream_revision, global_position, event_type, error, attempts)
       VALUES ($1, gen_random_uuid(), $2, 0, '0', 'Slow', 'test', 3)`,
      [projection.name, `${prefix}1`],
    );
    await eventually(
      async () => (await refusal(standby.requireCurrent(projection.name))) === 'PROJECTIONS.UNAVAILABLE',
      2_000,
    );
    expect(await refusal(active.requireCurrent(projection.name))).toBe('PROJECTIONS.UNAVAILABLE');

    await db.query('UPDATE herald_projection_dead_letters SET resolved_at = now() WHERE projection = $1', [
      projection.name,
    ]);
    await eventually(async () => (await refusal(standby.requireCurrent(projection.name))) === undefined, 5_000);
  }, 30_000);

  it('a standby whose active instance hangs is not vouched for past a long stretch of skipped events', async () => {
    const prefix = `${uniqueId('far')}-`;
    const { projection, open } = gated(prefix);
    // More events the filter skips than one check reads ahead (10 pages of 256 log
    // entries), then the one that hangs the active instance.
    const other = uniqueId('skipped');
    for (let i = 0; i < 3; i++) {
      await store.append(
        `${other}-${i}`,
        Array.from({ length: 1000 }, () => testEvent('Other')),
        'any',
      );
    }
    await store.append(`${prefix}1`, [testEvent('Slow')], 'any');
    const active = service(projection);
    const standby = service(projection);
    await eventually(async () => {
      const states = [...(await active.health()), ...(await standby.health())].map((h) => h.state).sort();
      return states.join() === 'running,standby';
    });
    await new Promise((r) => setTimeout(r, MAX_STALENESS_MS + 500));
    // A check that ran out of look-ahead, and the ones after it that reach the event.
    expect(await refusal(standby.requireCurrent(projection.name))).toBe('PROJECTIONS.UNAVAILABLE');
    await new Promise((r) => setTimeout(r, 300));
    expect(await refusal(standby.requireCurrent(projection.name))).toBe('PROJECTIONS.UNAVAILABLE');

    open();
    await eventually(async () => (await refusal(standby.requireCurrent(projection.name))) === undefined, 5_000);
  }, 30_000);
});

describe('health: the lag', () => {
  it(`is counted at most once per ${LAG_CACHE_MS} ms per projection, however many ask`, async () => {
    let counts = 0;
    const counting = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'countEventsAfter') {
          return (...args: Parameters<PostgresEventStore['countEventsAfter']>) => {
            counts++;
            return target.countEventsAfter(...args);
          };
        }
        const value: unknown = Reflect.get(target, key, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const prefix = `${uniqueId('lag')}-`;
    const { projection, open } = gated(prefix);
    const s = new ProjectionsService(counting, db, [projection], new JsonLogger('fatal'));
    s.onApplicationBootstrap();
    services.push(s);
    await store.append(`${prefix}1`, [testEvent('Slow')], 'any');
    const [first, second] = await Promise.all([s.health(), s.health()]);
    const third = await s.health();
    expect(counts).toBe(1);
    expect([second[0]!.lag, third[0]!.lag]).toEqual([first[0]!.lag, first[0]!.lag]);
    await new Promise((r) => setTimeout(r, LAG_CACHE_MS + 100));
    await s.health();
    expect(counts).toBe(2);
    open();
  });
});
