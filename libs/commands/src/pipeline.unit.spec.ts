/**
 * The command pipeline over the in-memory store: the fast counterpart of
 * pipeline.int.spec.ts, which runs it against PostgreSQL. Another process is another
 * instance connected to the same store (`connect`).
 */
import { InMemoryEventStore, WrongExpectedRevision } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { claimOf, claimsPipeline, type Claimed, type Claims } from './pipeline.testing.js';
import { StateCache } from './state-cache.js';
import { MAX_ATTEMPTS } from './stream.js';

const NAME = 'ada';
const STREAM = streamIdOf('username', NAME);
const pipeline = (store: InMemoryEventStore, cache?: StateCache<Claims>) => claimsPipeline(store, cache);
const claim = (userId: string): Claimed => claimOf(NAME, userId);
/** A command that claims the name for `userId` whatever the state. */
const claimFor = (userId: string) => () => ({ events: [claim(userId)] });
const [A, B, C] = [randomUUID(), randomUUID(), randomUUID()];
const context = { actorId: A, correlationId: 'correlation-1', now: new Date('2026-01-01T00:00:00Z') };
const claimants = async (store: InMemoryEventStore) =>
  (await store.readStream(STREAM)).map((e) => (e.data as { userId: string }).userId);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('command pipeline (in memory)', () => {
  it('decides a command on the loaded state and appends it at the revision it loaded', async () => {
    const store = new InMemoryEventStore();
    await pipeline(store).handle(NAME, claimFor(A), context);
    const append = vi.spyOn(store, 'append');
    const seen: Claims[] = [];
    const handled = await pipeline(store).handle(
      NAME,
      (state) => {
        seen.push(state);
        return { events: [claim(B)] };
      },
      context,
    );
    expect(seen).toEqual([{ count: 1, last: A }]);
    expect(append.mock.calls.map(([stream, events, expected]) => [stream, events.length, expected])).toEqual([
      [STREAM, 1, 0],
    ]);
    expect(handled.state).toEqual({ count: 2, last: B });
    expect(handled.appended?.nextExpectedRevision).toBe(1);
    // The state it answers is the one a fold of the stream gives.
    expect(await pipeline(store).load(NAME)).toEqual({ state: handled.state, revision: 1 });
  });

  it('records the context the loaded state picks, when the context depends on it', async () => {
    const store = new InMemoryEventStore();
    await pipeline(store).handle(NAME, claimFor(A), context);
    await pipeline(store).handle(NAME, claimFor(B), (state) => ({ ...context, actorId: state.last! }));
    const [, second] = await store.readStream(STREAM);
    expect(second?.metadata).toMatchObject({ actorId: A, correlationId: 'correlation-1' });
  });

  it('writes nothing when the decider decides nothing, and answers appended null with the state before', async () => {
    const store = new InMemoryEventStore();
    await pipeline(store).handle(NAME, claimFor(A), context);
    const append = vi.spyOn(store, 'append');
    const handled = await pipeline(store).handle(NAME, () => ({ events: [] }), context);
    expect(handled).toEqual({ decision: { events: [] }, state: { count: 1, last: A }, appended: null });
    expect(append).not.toHaveBeenCalled();
  });

  it("decides a command that lost the race again on the winner's state, with its facts fetched again for that state", async () => {
    const store = new InMemoryEventStore();
    const rival = pipeline(store.connect());
    await pipeline(store).handle(NAME, claimFor(A), context);
    const fetchedFor: Claims[] = [];
    const decided: (readonly [Claims, string])[] = [];
    const handled = await pipeline(store).handle(
      NAME,
      (state, facts: string) => {
        decided.push([state, facts]);
        return { events: [claim(C)] };
      },
      context,
      async (state) => {
        fetchedFor.push(state);
        // Another writer appends between this command's load and its append, the first time.
        if (fetchedFor.length === 1) await rival.handle(NAME, claimFor(B), context);
        return `facts of ${state.count}`;
      },
    );
    expect(fetchedFor).toEqual([
      { count: 1, last: A },
      { count: 2, last: B },
    ]);
    expect(decided).toEqual([
      [{ count: 1, last: A }, 'facts of 1'],
      [{ count: 2, last: B }, 'facts of 2'],
    ]);
    expect(handled.state).toEqual({ count: 3, last: C });
    expect(handled.appended?.nextExpectedRevision).toBe(2);
    expect(await claimants(store)).toEqual([A, B, C]);
  });

  it('catches a cached state up from its revision: what another pipeline wrote is seen, and only that is read', async () => {
    const store = new InMemoryEventStore();
    const cached = pipeline(store, new StateCache(100));
    await cached.handle(NAME, claimFor(A), context);
    await pipeline(store.connect()).handle(NAME, claimFor(B), context);
    expect(cached.cached(NAME)).toEqual({ state: { count: 1, last: A }, revision: 0 });
    const reads = vi.spyOn(store, 'readStream');
    const seen: Claims[] = [];
    const handled = await cached.handle(
      NAME,
      (state) => {
        seen.push(state);
        return { events: [claim(C)] };
      },
      context,
    );
    expect(seen).toEqual([{ count: 2, last: B }]);
    expect(reads.mock.calls.map(([stream, options]) => [stream, options?.from])).toEqual([[STREAM, 1]]);
    expect(handled.appended?.nextExpectedRevision).toBe(2);
    expect(cached.cached(NAME)).toEqual({ state: { count: 3, last: C }, revision: 2 });
  });

  it('gives up with WrongExpectedRevision after MAX_ATTEMPTS lost races, pausing longer after each, and writes nothing of its own', async () => {
    const store = new InMemoryEventStore();
    const rival = pipeline(store.connect());
    // Before each of its appends commits, another writer's commits: every race is lost.
    const losing = store.connect({
      beforeCommit: async () => {
        await rival.handle(NAME, claimFor(B), context);
      },
    });
    // The pauses are Math.random() × 5 ms × the attempts made: with a fifth, 1 ms, 2 ms, …
    // and on a fake clock, so the test waits for none of them.
    vi.spyOn(Math, 'random').mockReturnValue(0.2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    const attemptedAt: number[] = [];
    const outcome = pipeline(losing).handle(
      NAME,
      () => {
        attemptedAt.push(Date.now());
        return { events: [claim(A)] };
      },
      context,
    );
    const lost = expect(outcome).rejects.toBeInstanceOf(WrongExpectedRevision);
    await vi.runAllTimersAsync();
    await lost;
    expect(attemptedAt).toHaveLength(MAX_ATTEMPTS);
    expect(attemptedAt.slice(1).map((at, i) => at - attemptedAt[i]!)).toEqual(
      Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => i + 1),
    );
    expect(await claimants(store)).toEqual(Array<string>(MAX_ATTEMPTS).fill(B));
  });
});
