/**
 * The whole contract suite through the EventStoreDB adapter on a simulated server (no
 * EventStoreDB here): the adapter's mappings, reads back, judgements, subscription
 * batching and hash chain, end to end against the server's rules as modelled in
 * simulated-server.testing.ts. The same suite against a real server runs in
 * eventstoredb-event-store.int.spec.ts.
 */
import { range, testEvent as event } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { describeEventStoreContract } from '../event-store.contract.js';
import { verifyEveryChain, verifyStreamChain } from '../integrity/verify-chain.js';
import { InMemoryEventStore } from '../memory/in-memory-event-store.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { SimulatedEventStoreDb } from './simulated-server.testing.js';

/** What a forger changes: a data field, or who did it. */
const forge = (part: 'data' | 'metadata') => (e: { data: unknown; metadata: unknown }) =>
  part === 'data'
    ? { data: { ...(e.data as object), forged: true }, metadata: e.metadata }
    : {
        data: e.data,
        metadata: {
          ...(e.metadata as object),
          herald: { ...(e.metadata as { herald: object }).herald, actorId: 'someone-else' },
        },
      };

const server = new SimulatedEventStoreDb();
describeEventStoreContract('EventStoreDB adapter on a simulated server', () =>
  Promise.resolve({
    supportsFaults: false,
    uniqueEventIds: false,
    newStore: () => Promise.resolve(new EventStoreDbEventStore({ transport: server.connect() })),
    tamper: (streamId, revision, part) => Promise.resolve(server.tamper(streamId, revision, forge(part))),
  }),
);

describe('the hash chain on a simulated EventStoreDB', () => {
  const fresh = (): { server: SimulatedEventStoreDb; store: () => EventStoreDbEventStore } => {
    const s = new SimulatedEventStoreDb();
    return { server: s, store: () => new EventStoreDbEventStore({ transport: s.connect() }) };
  };

  it('is the same chain as on the other stores: a log moved between them verifies the same way', async () => {
    // No personal fields, so no random salts: the same events give the same hashes anywhere.
    const none = () => [];
    const sim = new SimulatedEventStoreDb();
    const esdb = new EventStoreDbEventStore({ transport: sim.connect(), personalFields: none });
    const memory = new InMemoryEventStore({ personalFields: none });
    const batches = [range(3).map((n) => event('Counted', { n, text: 'é ✓ "quoted"' })), [event('Closed')]];
    for (const s of [esdb, memory]) {
      await s.append('moved-1', batches[0]!, 'no_stream');
      await s.append('moved-1', batches[1]!, 'any');
    }
    const [a, b] = [await esdb.readChain('moved-1'), await memory.readChain('moved-1')];
    expect(a.map((e) => [e.hash, e.data, e.metadata])).toEqual(b.map((e) => [e.hash, e.data, e.metadata]));
    expect(a.map((e) => e.previous)).toEqual([null, ...b.slice(0, -1).map((e) => e.hash)]);
  });

  it('appends with any really raced (the server refused some) and still made one chain', async () => {
    const { server: s, store } = fresh();
    const stores = range(4).map(store);
    await stores[0]!.append('race-1', [event('Opened')], 'no_stream');
    await Promise.all(range(20).map((i) => stores[i % 4]!.append('race-1', [event('Counted', { i })], 'any')));
    expect(s.wrongExpectedVersions).toBeGreaterThan(0);
    const chain = await stores[1]!.readChain('race-1');
    expect(chain.map((e) => e.streamRevision)).toEqual(range(21));
    expect(new Set(chain.map((e) => e.previous)).size).toBe(21);
    expect(await verifyStreamChain(stores[2]!, 'race-1')).toMatchObject({ ok: true, events: 21 });
  });

  it('continues the chain after a soft delete, from the deleted head found in $all', async () => {
    const { store } = fresh();
    const [writer, other] = [store(), store()];
    await writer.append('gone-1', [event('A'), event('B')], 'no_stream');
    await writer.deleteStream('gone-1', 1);
    // Another process knows nothing of the stream: the hidden head's hash is read from $all.
    await other.append('gone-1', [event('C')], 1);
    await other.append('gone-1', [event('D')], 'any');
    const chain = await writer.readChain('gone-1');
    expect(chain.map((e) => e.streamRevision)).toEqual([2, 3]);
    const report = await verifyStreamChain(writer, 'gone-1');
    // The server no longer serves revisions 0 and 1: the check starts at 2, from the hash it records.
    expect(report).toMatchObject({ ok: true, events: 2, firstRevision: 2 });
  });

  it('a head hidden by retention still chains the next event (any), and the served part verifies', async () => {
    const { store } = fresh();
    const s = store();
    await s.append(
      'kept-1',
      range(5).map(() => event('A')),
      'no_stream',
    );
    await s.setStreamMetadata('kept-1', { truncateBefore: 5 });
    await store().append('kept-1', [event('B')], 'any');
    expect(await verifyStreamChain(s, 'kept-1')).toMatchObject({ ok: true, events: 1, firstRevision: 5 });
    // The links of the whole stream, read from $all, hold together: the hidden part was chained to.
    const all = (await s.readAll({ limit: 100, filter: { streamPrefixes: ['kept-1'] } })).events;
    expect(all.map((e) => e.streamRevision)).toEqual(range(6));
  });

  it('an any-retry is recognised while at most 32 events follow it, whatever its size; past that, only a revision keeps it safe', async () => {
    const { store } = fresh();
    const s = store();
    const big = range(40).map((n) => event('Counted', { n }));
    const first = await s.append('retry-1', big, 'any');
    await s.append(
      'retry-1',
      range(32).map(() => event('Other')),
      'any',
    );
    // Another process (nothing cached) retries the 40 events: recognised, nothing written.
    expect(await store().append('retry-1', big, 'any')).toEqual(first);
    expect(await s.append('retry-1', big, 'no_stream')).toEqual(first);
    await s.append('retry-1', [event('Other')], 'any');
    // 33 events after it now: with `any` it is not seen any more and would be written again;
    // at the revision it was written after, the server still recognises it.
    expect(await s.append('retry-1', big, 'no_stream')).toEqual(first);
    const late = await s.append('retry-1', [big[0]!], 'any');
    expect(late.nextExpectedRevision).toBe(73);
    expect(await verifyStreamChain(s, 'retry-1')).toMatchObject({ ok: true, events: 74 });
  });

  it('every stream’s chain, met in log order (herald verify on EventStoreDB): intact, cut by retention, then tampered', async () => {
    const { server: sim, store } = fresh();
    const s = store();
    for (const id of ['all-1', 'all-2', 'all-3']) {
      await s.append(
        id,
        range(3).map((n) => event('Counted', { n })),
        'no_stream',
      );
    }
    await s.append('all-1', [event('Counted')], 2);
    await s.setStreamMetadata('all-3', { truncateBefore: 1 });
    const progress: number[] = [];
    expect(await verifyEveryChain(s, { onProgress: (n) => progress.push(n) })).toMatchObject({
      ok: true,
      events: 9,
      streams: 3,
      streamsCut: 1,
      seals: 0,
    });
    expect(progress.at(-1)).toBe(9);
    sim.tamper('all-2', 1, forge('data'));
    expect(await verifyEveryChain(s)).toMatchObject({
      ok: false,
      streams: 2,
      broken: { streamId: 'all-2', revision: 1, reason: expect.stringMatching(/altered/) as unknown },
    });
  });
});
