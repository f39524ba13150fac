import { PostgresEventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { range, testDatabaseUrl, uniqueId } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimOf, claimsPipeline, type Claims } from './pipeline.testing.js';
import { StateCache } from './state-cache.js';

let store: PostgresEventStore;
beforeAll(async () => {
  store = new PostgresEventStore({ connectionString: testDatabaseUrl(), poolSize: 8 });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
});

const pipeline = (cache?: StateCache<Claims>) => claimsPipeline(store, cache);
const claim = claimOf;
/** Claimants: user ids are UUIDs. */
const users = range(12).map(() => randomUUID());
const [A, B] = users as [string, string];
const context = () => ({ actorId: randomUUID(), correlationId: uniqueId('c'), now: new Date() });

describe('command pipeline (PostgreSQL)', () => {
  it('decides against the current state and answers the state after the append', async () => {
    const name = uniqueId('p');
    const claims = pipeline();
    const first = await claims.handle(name, () => ({ events: [claim(name, A)] }), context());
    const second = await claims.handle(
      name,
      (state) => ({ events: state.count === 1 ? [claim(name, B)] : [] }),
      context(),
    );
    expect([first.state, second.state]).toEqual([
      { count: 1, last: A },
      { count: 2, last: B },
    ]);
    expect(second.appended?.nextExpectedRevision).toBe(1);
  });

  it('writes nothing when the decider decides nothing', async () => {
    const name = uniqueId('p');
    const handled = await pipeline().handle(name, () => ({ events: [] }), context());
    expect(handled).toEqual({ decision: { events: [] }, state: { count: 0, last: null }, appended: null });
  });

  it('writers racing on one stream through their own pipelines each win in turn: every command counted once', async () => {
    const name = uniqueId('p');
    const writers = range(4).map(() => pipeline(new StateCache(100)));
    await Promise.all(
      range(12).map((i) =>
        writers[i % 4]!.handle(name, (state) => ({ events: [claim(name, users[state.count]!)] }), context()),
      ),
    );
    const events = await store.readStream(streamIdOf('username', name));
    // Each decided on the state its append extended: the claimants follow the count.
    expect(events.map((e) => (e.data as { userId: string }).userId)).toEqual(users);
  });

  it('a cached state catches up with what another process wrote, reading only what is new', async () => {
    const name = uniqueId('p');
    const cached = pipeline(new StateCache(100));
    await cached.handle(name, () => ({ events: [claim(name, A)] }), context());
    await pipeline().handle(name, () => ({ events: [claim(name, B)] }), context());
    expect(cached.cached(name)).toEqual({ state: { count: 1, last: A }, revision: 0 });
    expect(await cached.load(name)).toEqual({ state: { count: 2, last: B }, revision: 1 });
  });
});
