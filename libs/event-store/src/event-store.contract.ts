/**
 * The event store contract, written once and run against every adapter. An adapter's spec
 * file calls `describeEventStoreContract` with a harness; an adapter whose server is not
 * available passes `skipReason`, and the suite is reported as skipped with it.
 */
import { eventually, range, testEvent as event } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCheckpoints, START, type Checkpoint } from './checkpoint.js';
import { DuplicateEventId, InvalidAppend, InvalidArgument, StreamNotFound, WrongExpectedRevision } from './errors.js';
import { contentHash, eventHash } from './integrity/event-hash.js';
import { verifyStreamChain } from './integrity/verify-chain.js';
import type { EventStore, NewEvent, ReadAllPage, RecordedEvent } from './types.js';
import { LIMITS } from './validation.js';

export interface StoreFaults {
  /** Runs inside a write transaction before it commits; throwing rolls it back. */
  readonly beforeCommit?: () => Promise<void>;
}

export interface EventStoreHarness {
  /** A store with its own connections. Adapters that cannot inject faults ignore them. */
  newStore(faults?: StoreFaults): Promise<EventStore>;
  /** Whether `faults` really delay and roll back writes (the concurrency test says which). */
  readonly supportsFaults: boolean;
  /**
   * Whether the store refuses an event id recorded in another stream, or elsewhere in this
   * one, when the expected revision names no place (`any`). The port does not promise it:
   * EventStoreDB does not know where else an id is (docs/adr/026-eventstoredb-adapter.md).
   * PostgreSQL and the in-memory store do, and their suites check it.
   */
  readonly uniqueEventIds: boolean;
  /**
   * Changes a stored event's data or metadata behind the store's back, as someone with
   * access to its storage would (the hash chain must show it). Absent where the test cannot
   * reach the storage (a real EventStoreDB: its events cannot be rewritten from a client);
   * the tamper test is then reported as skipped.
   */
  readonly tamper?: (streamId: string, revision: number, part: 'data' | 'metadata') => Promise<void>;
}

export function describeEventStoreContract(
  adapter: string,
  harness: () => Promise<EventStoreHarness>,
  skipReason?: string,
): void {
  if (skipReason) console.warn(`[event store contract] ${adapter}: skipped: ${skipReason}`);
  describe.skipIf(skipReason !== undefined)(`event store contract: ${adapter}`, () => {
    let h: EventStoreHarness;
    let store: EventStore;
    const prefix = `c${randomUUID().slice(0, 8)}`;
    let n = 0;
    const stream = (category = 'test'): string => `${prefix}${category}-${++n}`;

    beforeAll(async () => {
      h = await harness();
      store = await h.newStore();
    });
    afterAll(async () => {
      await store?.close();
    });

    describe('append and readStream', () => {
      it('appends to a new stream and reads the events back with their metadata', async () => {
        const id = stream();
        const events = [event('MessageSent', { text: 'hi' }), event('MessageEdited', { text: 'hello' })];
        const result = await store.append(id, events, 'no_stream');
        expect(result.nextExpectedRevision).toBe(1);
        const read = await store.readStream(id);
        expect(read.map((e) => [e.eventId, e.type, e.streamRevision, e.data])).toEqual([
          [events[0]!.eventId, 'MessageSent', 0, { text: 'hi' }],
          [events[1]!.eventId, 'MessageEdited', 1, { text: 'hello' }],
        ]);
        expect(read[0]!.metadata).toMatchObject(events[0]!.metadata);
        expect(read[0]!.schemaVersion).toBe(1);
        expect(read[0]!.streamId).toBe(id);
        expect(read[0]!.recordedAt).toBeInstanceOf(Date);
        expect(Math.abs(read[0]!.recordedAt.getTime() - Date.now())).toBeLessThan(60_000);
        expect(read[1]!.globalPosition).toBe(result.checkpoint);
        expect(compareCheckpoints(read[0]!.globalPosition, read[1]!.globalPosition)).toBe(-1);
      });

      it('reads forwards and backwards from a revision with a limit', async () => {
        const id = stream();
        await store.append(
          id,
          range(10).map((i) => event('Counted', { i })),
          'no_stream',
        );
        const data = (events: RecordedEvent[]): unknown[] => events.map((e) => (e.data as { i: number }).i);
        expect(data(await store.readStream(id, { from: 3, limit: 4 }))).toEqual([3, 4, 5, 6]);
        expect(data(await store.readStream(id, { direction: 'backwards', limit: 3 }))).toEqual([9, 8, 7]);
        expect(data(await store.readStream(id, { direction: 'backwards', from: 2 }))).toEqual([2, 1, 0]);
        expect(data(await store.readStream(id, { from: 10 }))).toEqual([]);
      });

      it('orders by revision as a number, past ten events, both ways', async () => {
        const id = stream();
        await store.append(
          id,
          range(25).map(() => event('Counted')),
          'no_stream',
        );
        const revisions = (events: RecordedEvent[]): number[] => events.map((e) => e.streamRevision);
        expect(revisions(await store.readStream(id))).toEqual(range(25));
        expect(revisions(await store.readStream(id, { direction: 'backwards' }))).toEqual(range(25).reverse());
        expect(revisions(await store.readStream(id, { from: 8, limit: 5 }))).toEqual([8, 9, 10, 11, 12]);
      });

      it('throws StreamNotFound for a stream that does not exist', async () => {
        await expect(store.readStream(stream())).rejects.toBeInstanceOf(StreamNotFound);
      });
    });

    describe('expected revision', () => {
      it('checks a number, no_stream, stream_exists and any, and says the actual revision', async () => {
        const id = stream();
        await expect(store.append(id, [event('A')], 'stream_exists')).rejects.toMatchObject({
          constructor: WrongExpectedRevision,
          actual: 'no_stream',
        });
        await expect(store.append(id, [event('A')], 0)).rejects.toBeInstanceOf(WrongExpectedRevision);
        await store.append(id, [event('A')], 'no_stream');
        await expect(store.append(id, [event('A')], 'no_stream')).rejects.toMatchObject({ actual: 0 });
        await store.append(id, [event('A')], 0);
        await store.append(id, [event('A')], 'stream_exists');
        await store.append(id, [event('A')], 'any');
        const error = await store.append(id, [event('A')], 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedRevision);
        expect(error).toMatchObject({
          streamId: id,
          expected: 1,
          actual: 3,
          code: 'EVENT_STORE.WRONG_EXPECTED_REVISION',
        });
        expect((await store.readStream(id)).length).toBe(4);
      });

      it('lets exactly one of many racing appends at the same revision win', async () => {
        const id = stream();
        await store.append(id, [event('A')], 'no_stream');
        const results = await Promise.allSettled(range(10).map(() => store.append(id, [event('B')], 0)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(WrongExpectedRevision);
        expect((await store.readStream(id)).length).toBe(2);
      });
    });

    describe('several store instances (processes) on one stream', () => {
      it('stay consistent: no gap, correct conflicts, idempotent retries across instances', async () => {
        const other = await h.newStore();
        try {
          const id = stream();
          const [e1, e2, e3, e4, e5] = range(5).map(() => event('Shared'));
          expect((await store.append(id, [e1!], 'no_stream')).nextExpectedRevision).toBe(0);
          expect((await other.append(id, [e2!], 0)).nextExpectedRevision).toBe(1);
          // This instance last saw revision 0; the stream is at 1.
          expect((await store.append(id, [e3!], 'any')).nextExpectedRevision).toBe(2);
          await expect(other.append(id, [e4!], 1)).rejects.toMatchObject({
            constructor: WrongExpectedRevision,
            actual: 2,
          });
          const fifth = await store.append(id, [e5!], 2);
          expect(await other.append(id, [e5!], 2)).toEqual(fifth);
          const read = await other.readStream(id);
          expect(read.map((e) => [e.streamRevision, e.eventId])).toEqual(
            [e1, e2, e3, e5].map((e, i) => [i, e!.eventId]),
          );
        } finally {
          await other.close();
        }
      });
    });

    describe('idempotency', () => {
      it('a retried append of the same events at the same place succeeds and writes nothing twice', async () => {
        const id = stream();
        const events = [event('A'), event('B')];
        const first = await store.append(id, events, 'no_stream');
        expect(await store.append(id, events, 'no_stream')).toEqual(first);
        expect(await store.append(id, events, 'any')).toEqual(first);
        await store.append(id, [event('C')], 1);
        expect(await store.append(id, events, 'no_stream')).toEqual(first);
        expect((await store.readStream(id)).length).toBe(3);
      });

      it('racing retries of one append all get the same result and write once', async () => {
        const id = stream();
        const events = [event('A')];
        const results = await Promise.all(range(8).map(() => store.append(id, events, 'no_stream')));
        for (const r of results) expect(r).toEqual(results[0]);
        expect((await store.readStream(id)).length).toBe(1);
      });

      it('refuses a retry that differs from the original (order, place), also when they race', async () => {
        const id = stream();
        const [a, b] = [event('A'), event('B')];
        const first = await store.append(id, [a, b], 'no_stream');
        const [same, reordered, elsewhere] = await Promise.allSettled([
          store.append(id, [a, b], 'no_stream'),
          store.append(id, [b, a], 'no_stream'),
          store.append(id, [a, b], 5),
        ]);
        expect(same).toEqual({ status: 'fulfilled', value: first });
        // A leading part, or a later part at its own place, is a retry too (as EventStoreDB).
        const [atA, atB] = await store.readStream(id);
        expect(await store.append(id, [a], 'no_stream')).toEqual({
          nextExpectedRevision: 0,
          checkpoint: atA!.globalPosition,
        });
        expect(await store.append(id, [b], 0)).toEqual({ nextExpectedRevision: 1, checkpoint: atB!.globalPosition });
        expect(reordered.status === 'rejected' && reordered.reason).toBeInstanceOf(DuplicateEventId);
        expect(elsewhere.status === 'rejected' && elsewhere.reason).toBeInstanceOf(WrongExpectedRevision);
        if (!h.uniqueEventIds) return;
        // Racing: the same events in two orders; whichever lands first wins, the other is refused.
        const racing = stream();
        const [c, d] = [event('C'), event('D')];
        const results = await Promise.allSettled([
          store.append(racing, [c, d], 'any'),
          store.append(racing, [d, c], 'any'),
        ]);
        const won = results.findIndex((r) => r.status === 'fulfilled');
        const lost = results.find((r) => r.status === 'rejected');
        expect(won).toBeGreaterThanOrEqual(0);
        expect(lost?.status === 'rejected' && lost.reason).toBeInstanceOf(DuplicateEventId);
        const order = won === 0 ? [c, d] : [d, c];
        expect((await store.readStream(racing)).map((e) => e.eventId)).toEqual(order.map((e) => e.eventId));
      });

      it('refuses an event id already recorded in another place (and, where the store knows, in another stream)', async () => {
        const a = stream();
        const b = stream();
        const e = event('A');
        await store.append(a, [e], 'no_stream');
        // At a place the expected revision names, every adapter sees what is there.
        await expect(store.append(a, [e], 5)).rejects.toBeInstanceOf(WrongExpectedRevision);
        await expect(store.append(a, [event('X'), e], 'no_stream')).rejects.toBeInstanceOf(DuplicateEventId);
        expect((await store.readStream(a)).length).toBe(1);
        if (!h.uniqueEventIds) return;
        await expect(store.append(b, [e], 'any')).rejects.toBeInstanceOf(DuplicateEventId);
        await expect(store.append(a, [event('X'), e], 'any')).rejects.toBeInstanceOf(DuplicateEventId);
        expect((await store.readStream(a)).length).toBe(1);
        await expect(store.readStream(b)).rejects.toBeInstanceOf(StreamNotFound);
      });
    });

    describe('hash chain (ADR 030)', () => {
      it('links every event of a stream to its predecessor, over appends of every kind, and verifies', async () => {
        const id = stream();
        await store.append(id, [event('MessageSent', { text: 'hi' }), event('Counted', { n: 1 })], 'no_stream');
        await store.append(id, [event('Counted', { n: 2 })], 1);
        await store.append(id, [event('Counted', { n: 3 }), event('Counted', { n: 4 })], 'any');
        await store.append(id, [event('Counted', { n: 5 })], 'stream_exists');
        const chain = await store.readChain(id);
        expect(chain.map((e) => e.streamRevision)).toEqual(range(6));
        // Each link is ADR 030's hash of the event as read, chained to its predecessor's.
        let previous: string | null = null;
        for (const link of chain) {
          expect(link.hash).toMatch(/^[0-9a-f]{64}$/);
          expect(link.hash).toBe(eventHash(id, link.streamRevision, contentHash(link), previous));
          previous = link.hash;
        }
        // The links cover exactly what readers get.
        const read = await store.readStream(id);
        expect(
          chain.map((e): unknown[] => [
            e.eventId,
            e.type,
            e.schemaVersion,
            JSON.parse(e.data) as unknown,
            JSON.parse(e.metadata) as unknown,
          ]),
        ).toEqual(read.map((e) => [e.eventId, e.type, e.schemaVersion, e.data, e.metadata]));
        // A personal field enters as a salted digest (the salt kept with the event).
        expect(Object.keys(chain[0]!.personal ?? {})).toEqual(['/text']);
        expect(chain[1]!.personal).toBeNull();
        expect(await verifyStreamChain(store, id)).toMatchObject({ ok: true, events: 6 });
        expect((await store.readChain(id, { from: 4, limit: 1 })).map((e) => e.hash)).toEqual([chain[4]!.hash]);
        expect(await store.readChain(stream())).toEqual([]);
        await expect(store.readChain(id, { from: -1 })).rejects.toBeInstanceOf(InvalidArgument);
      });

      it('verify names an event whose stored data or metadata was changed', async (context) => {
        if (!h.tamper) {
          console.warn(`[event store contract] ${adapter}: tamper test skipped: the harness cannot reach the storage`);
          context.skip();
        }
        const [a, b] = [stream(), stream()];
        for (const id of [a, b]) {
          await store.append(
            id,
            range(4).map((n) => event('Counted', { n })),
            'no_stream',
          );
        }
        expect(await verifyStreamChain(store, a)).toMatchObject({ ok: true, events: 4 });
        await h.tamper!(a, 2, 'data');
        await h.tamper!(b, 1, 'metadata');
        for (const [id, revision] of [
          [a, 2],
          [b, 1],
        ] as const) {
          const report = await verifyStreamChain(store, id);
          expect(report).toMatchObject({ ok: false, events: revision, broken: { streamId: id, revision } });
          expect(report.broken?.reason).toMatch(/altered/);
        }
      });

      it('concurrent appends with any, from several instances, never fork the chain', async () => {
        const other = await h.newStore();
        try {
          const id = stream();
          await store.append(id, [event('Opened')], 'no_stream');
          const results = await Promise.all(
            range(12).map((i) =>
              (i % 2 === 0 ? store : other).append(id, [event('Counted', { i }), event('Counted', { i })], 'any'),
            ),
          );
          // Each append got its own two revisions: nobody extended the same event.
          expect(results.map((r) => r.nextExpectedRevision).sort((x, y) => x - y)).toEqual(
            range(12).map((i) => 2 + 2 * i),
          );
          const chain = await store.readChain(id);
          expect(chain).toHaveLength(25);
          for (let r = 1; r < chain.length; r += 2) {
            expect(JSON.parse(chain[r]!.data)).toEqual(JSON.parse(chain[r + 1]!.data));
          }
          expect(await verifyStreamChain(other, id)).toMatchObject({ ok: true, events: 25 });
        } finally {
          await other.close();
        }
      });

      it('an idempotent retry, racing or from another instance, writes no second link', async () => {
        const other = await h.newStore();
        try {
          const id = stream();
          const events = [event('MessageSent', { text: 'once' }), event('Counted')];
          await store.append(id, events, 'no_stream');
          const first = await store.readChain(id);
          await store.append(id, events, 'no_stream');
          await other.append(id, events, 'no_stream');
          await store.append(id, events, 'any');
          await Promise.all(range(6).map((i) => (i % 2 === 0 ? store : other).append(id, events, 'no_stream')));
          await store.append(id, [event('Counted')], 1);
          await other.append(id, events, 'no_stream');
          const chain = await store.readChain(id);
          // The retries' fresh salts were never written: the first links stand, and the next event follows them.
          expect(chain.slice(0, 2)).toEqual(first);
          expect(chain).toHaveLength(3);
          expect(await verifyStreamChain(store, id)).toMatchObject({ ok: true, events: 3 });
        } finally {
          await other.close();
        }
      });
    });

    describe('bad input', () => {
      it('rejects malformed appends with InvalidAppend and writes nothing', async () => {
        const id = stream();
        const bad: [unknown, unknown, unknown][] = [
          [id, [], 'any'],
          [id, [event('A')], 'latest'],
          [id, [event('A')], -1],
          [id, [event('A')], 1.5],
          ['', [event('A')], 'any'],
          ['has space', [event('A')], 'any'],
          ['x'.repeat(LIMITS.maxStreamIdLength + 1), [event('A')], 'any'],
          [id, [{ ...event('A'), eventId: 'not-a-uuid' }], 'any'],
          [id, [{ ...event('A'), type: '' }], 'any'],
          [id, [{ ...event('A'), schemaVersion: 0 }], 'any'],
          [id, [{ ...event('A'), schemaVersion: 2 ** 31 }], 'any'],
          [id, [{ ...event('A'), metadata: { actorId: 'u' } }], 'any'],
          [id, [event('A', { blob: 'x'.repeat(LIMITS.maxEventBytes) })], 'any'],
          [id, [event('A', { text: 'nul\u0000' })], 'any'],
          [id, [null], 'any'],
        ];
        for (const [streamId, events, expected] of bad) {
          await expect(
            store.append(streamId as string, events as NewEvent[], expected as 'any'),
          ).rejects.toBeInstanceOf(InvalidAppend);
        }
        const e = event('A');
        await expect(store.append(id, [e, e], 'any')).rejects.toBeInstanceOf(InvalidAppend);
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFound);
      });

      it('keeps the text "\\u0000" (it is not a NUL character)', async () => {
        const id = stream();
        await store.append(id, [event('A', { text: 'escape it as \\u0000 in JSON' })], 'no_stream');
        expect((await store.readStream(id))[0]!.data).toEqual({ text: 'escape it as \\u0000 in JSON' });
      });

      it('rejects bad read options', async () => {
        await expect(store.readStream(stream(), { limit: 0 })).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.readStream(stream(), { from: -1 })).rejects.toBeInstanceOf(InvalidArgument);
        await expect(store.readAll({ limit: LIMITS.maxReadCount + 1 })).rejects.toBeInstanceOf(InvalidArgument);
        for (const from of [
          '',
          'nonsense',
          '0000000000000000-ffffffffffffffff',
          '0000000000000000-00000000000000000',
        ]) {
          await expect(store.readAll({ from: from as Checkpoint })).rejects.toBeInstanceOf(InvalidArgument);
        }
        await expect(store.setStreamMetadata(stream(), { maxAgeSeconds: 1e12 })).rejects.toBeInstanceOf(
          InvalidArgument,
        );
      });
    });

    describe('readAll', () => {
      it('returns events in checkpoint order, with event-type and stream-prefix filters', async () => {
        const from = await store.headCheckpoint();
        const cat = `${prefix}r${++n}`;
        const x = `${cat}x-1`;
        const y = `${cat}y-1`;
        await store.append(x, [event('Opened'), event('Noted')], 'no_stream');
        await store.append(y, [event('Opened')], 'no_stream');
        await store.append(x, [event('Closed')], 1);
        const mine = (page: ReadAllPage): string[] =>
          page.events.filter((e) => e.streamId.startsWith(cat)).map((e) => `${e.streamId.slice(cat.length)}:${e.type}`);
        const all = await store.readAll({ from, limit: 10_000 });
        expect(mine(all)).toEqual(['x-1:Opened', 'x-1:Noted', 'y-1:Opened', 'x-1:Closed']);
        assertOrdered(all.events);
        const byType = await store.readAll({ from, filter: { eventTypes: ['Opened'], streamPrefixes: [cat] } });
        expect(mine(byType)).toEqual(['x-1:Opened', 'y-1:Opened']);
        expect(byType.events).toHaveLength(2);
        const byPrefix = await store.readAll({ from, filter: { streamPrefixes: [`${cat}x-`] } });
        expect(mine(byPrefix)).toEqual(['x-1:Opened', 'x-1:Noted', 'x-1:Closed']);
        // The filtered page's checkpoint is past what it skipped: reading on finds none of these.
        const after = await store.readAll({ from: byPrefix.checkpoint, filter: { streamPrefixes: [cat] } });
        expect(after.events).toHaveLength(0);
      });

      it('a filtered reader makes progress through events it skips, in pages of bounded work', async () => {
        const from = await store.headCheckpoint();
        const cat = `${prefix}f${++n}-`;
        await store.append(
          `${cat}skipped`,
          range(200).map(() => event('Skipped')),
          'no_stream',
        );
        const wanted = event('Wanted');
        await store.append(`${cat}wanted`, [wanted], 'no_stream');
        const filter = { streamPrefixes: [`${cat}wanted`] };
        // Concurrent tests' events are in the log too: read on until the wanted event shows.
        let checkpoint = from;
        for (let found = false; !found;) {
          const page = await store.readAll({ from: checkpoint, limit: 5, filter });
          // Never backwards; it stands still only while the wanted event waits behind
          // another test's running transaction.
          expect(compareCheckpoints(page.checkpoint, checkpoint)).toBeGreaterThanOrEqual(0);
          found = page.events.some((e) => e.eventId === wanted.eventId);
          checkpoint = page.checkpoint;
        }
        const controller = new AbortController();
        const delivered: string[] = [];
        for await (const page of store.subscribeToAll({ from, limit: 5, filter, signal: controller.signal })) {
          delivered.push(...page.events.map((e) => e.eventId));
          if (delivered.includes(wanted.eventId)) controller.abort();
        }
        expect(delivered).toEqual([wanted.eventId]);
      });

      it('pages through the log with no gap and no repeat', async () => {
        const from = await store.headCheckpoint();
        const cat = `${prefix}p${++n}-`;
        const ids: string[] = [];
        for (let s = 0; s < 5; s++) {
          const events = range(7).map(() => event('Paged'));
          ids.push(...events.map((e) => e.eventId));
          await store.append(`${cat}${s}`, events, 'no_stream');
        }
        const seen: string[] = [];
        let checkpoint: Checkpoint = from;
        for (;;) {
          const page = await store.readAll({ from: checkpoint, limit: 4, filter: { streamPrefixes: [cat] } });
          seen.push(...page.events.map((e) => e.eventId));
          expect(compareCheckpoints(page.checkpoint, checkpoint)).toBeGreaterThanOrEqual(0);
          if (page.events.length === 0) break;
          checkpoint = page.checkpoint;
        }
        expect(seen).toEqual(ids);
      });

      it('starts from the beginning by default and counts events after a checkpoint', async () => {
        const first = await store.readAll({ limit: 1 });
        expect(first.events).toHaveLength(1);
        expect(compareCheckpoints(first.events[0]!.globalPosition, START)).toBe(1);
        const head = await store.headCheckpoint();
        await store.append(stream(), [event('A'), event('B')], 'no_stream');
        await expect(store.countEventsAfter(head, 1_000)).resolves.toBeGreaterThanOrEqual(2);
        await expect(store.countEventsAfter(head, 1)).resolves.toBe(1);
      });
    });

    describe('stream metadata and retention', () => {
      it('maxCount and truncateBefore hide older events from readStream', async () => {
        const id = stream();
        await store.append(
          id,
          range(6).map((i) => event('N', { i })),
          'no_stream',
        );
        await store.setStreamMetadata(id, { maxCount: 2 });
        expect((await store.readStream(id)).map((e) => e.streamRevision)).toEqual([4, 5]);
        await store.setStreamMetadata(id, { truncateBefore: 3 });
        expect((await store.readStream(id)).map((e) => e.streamRevision)).toEqual([3, 4, 5]);
        expect((await store.readStream(id, { direction: 'backwards' })).map((e) => e.streamRevision)).toEqual([
          5, 4, 3,
        ]);
        expect(await store.getStreamInfo(id)).toEqual({ revision: 5, deleted: false, metadata: { truncateBefore: 3 } });
        await expect(store.setStreamMetadata(id, { maxCount: 0 })).rejects.toBeInstanceOf(InvalidArgument);
      });

      it('maxAgeSeconds hides events older than the age', async () => {
        const id = stream();
        await store.append(id, [event('Old')], 'no_stream');
        await store.setStreamMetadata(id, { maxAgeSeconds: 1 });
        expect(await store.readStream(id)).toHaveLength(1);
        await new Promise((r) => setTimeout(r, 1_100));
        await store.append(id, [event('New')], 0);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['New']);
      });

      it('soft delete hides the stream; appending again revives it after its old revision', async () => {
        const id = stream();
        await store.append(id, [event('A'), event('B')], 'no_stream');
        await expect(store.deleteStream(id, 0)).rejects.toBeInstanceOf(WrongExpectedRevision);
        await store.deleteStream(id, 1);
        await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFound);
        expect((await store.getStreamInfo(id)).deleted).toBe(true);
        // Retention settings set after the delete do not bring deleted history back.
        await store.setStreamMetadata(id, { maxAgeSeconds: 3600 });
        const revived = await store.append(id, [event('C')], 1);
        expect(revived.nextExpectedRevision).toBe(2);
        expect((await store.readStream(id)).map((e) => e.type)).toEqual(['C']);
        await expect(store.deleteStream(stream())).rejects.toBeInstanceOf(StreamNotFound);
      });
    });

    describe('subscribeToAll', () => {
      it('catches up from a checkpoint, then delivers live events', async () => {
        const cat = `${prefix}s${++n}-`;
        const from = await store.headCheckpoint();
        await store.append(`${cat}1`, [event('Before')], 'no_stream');
        const controller = new AbortController();
        const seen: string[] = [];
        const done = (async () => {
          for await (const page of store.subscribeToAll({
            from,
            signal: controller.signal,
            filter: { streamPrefixes: [cat] },
          })) {
            seen.push(...page.events.map((e) => e.type));
            if (seen.length === 3) controller.abort();
          }
        })();
        await eventually(() => seen.length >= 1);
        await store.append(`${cat}1`, [event('Live1')], 0);
        await store.append(`${cat}2`, [event('Live2')], 'no_stream');
        await done;
        expect(seen).toEqual(['Before', 'Live1', 'Live2']);
      });

      it('under concurrent, slow and rolled-back writers, delivers every committed event exactly once in checkpoint order, across a restart', async () => {
        const cat = `${prefix}cc${++n}-`;
        const WRITERS = 8;
        const EVENTS_PER_WRITER = 2_700; // 21,600 attempted, about 20,500 commit
        let rolledBack = 0;
        let slowed = 0;
        const writers = await Promise.all(
          range(WRITERS).map(() =>
            h.newStore({
              beforeCommit: async () => {
                const dice = Math.random();
                if (dice < 0.05) {
                  rolledBack++;
                  throw new Error('injected rollback');
                }
                if (dice < 0.2) {
                  slowed++;
                  await new Promise((r) => setTimeout(r, 5 + Math.random() * 40));
                }
              },
            }),
          ),
        );
        const reader = await h.newStore();
        const from = await reader.headCheckpoint();
        const committed = new Set<string>();
        const seen: RecordedEvent[] = [];
        let checkpoint: Checkpoint = from;

        const follow = (signal: AbortSignal): Promise<void> =>
          (async () => {
            for await (const page of reader.subscribeToAll({
              from: checkpoint,
              signal,
              limit: 500,
              filter: { streamPrefixes: [cat] },
            })) {
              seen.push(...page.events);
              checkpoint = page.checkpoint;
            }
          })();
        // Other subscribers of the same store, with other filters and page sizes, one of
        // them starting late from the beginning: each must see exactly its own events.
        const others = [
          { filter: { streamPrefixes: [cat], eventTypes: ['Written'] }, limit: 7, seen: [] as RecordedEvent[] },
          { filter: { streamPrefixes: [`${cat}3.`] }, limit: 100, seen: [] as RecordedEvent[] },
        ];
        const othersStop = new AbortController();
        const subscribe = (other: (typeof others)[number]): Promise<void> =>
          (async () => {
            for await (const page of reader.subscribeToAll({ from, signal: othersStop.signal, ...other })) {
              other.seen.push(...page.events);
            }
          })();
        const othersDone = [subscribe(others[0]!)];

        let controller = new AbortController();
        let following = follow(controller.signal);
        let restarted = false;

        await Promise.all(
          writers.map(async (writer, w) => {
            let written = 0;
            const revisions = new Map<string, number>();
            // A few appends in flight per writer so its group commit batches them.
            const lane = async (l: number): Promise<void> => {
              while (written < EVENTS_PER_WRITER) {
                const streamId = `${cat}${w}.${l}.${written % 7}`;
                const events = range(1 + (written % 3)).map(() => event('Written'));
                written += events.length;
                const expected = revisions.get(streamId) ?? 'no_stream';
                try {
                  const result = await writer.append(streamId, events, expected);
                  revisions.set(streamId, result.nextExpectedRevision);
                  for (const e of events) committed.add(e.eventId);
                } catch (error) {
                  if (!(error instanceof Error) || error.message !== 'injected rollback') throw error;
                }
                if (othersDone.length === 1 && w === 1 && written > EVENTS_PER_WRITER / 3) {
                  othersDone.push(subscribe(others[1]!));
                }
                if (!restarted && w === 0 && written > EVENTS_PER_WRITER / 2) {
                  // Stop the subscriber mid-stream and resume from its last checkpoint.
                  restarted = true;
                  controller.abort();
                  await following;
                  controller = new AbortController();
                  following = follow(controller.signal);
                }
              }
            };
            await Promise.all(range(4).map(lane));
          }),
        );
        const writtenBy3 = (e: { streamId: string }): boolean => e.streamId.startsWith(`${cat}3.`);
        await eventually(
          () =>
            seen.length >= committed.size &&
            others[0]!.seen.length >= committed.size &&
            others[1]!.seen.length >= seen.filter(writtenBy3).length,
          30_000,
        );
        controller.abort();
        othersStop.abort();
        await Promise.all([following, ...othersDone]);
        expect(others[0]!.seen.map((e) => e.eventId)).toEqual(seen.map((e) => e.eventId));
        expect(others[1]!.seen.map((e) => e.eventId)).toEqual(seen.filter(writtenBy3).map((e) => e.eventId));

        const ids = seen.map((e) => e.eventId);
        expect(new Set(ids).size).toBe(ids.length); // no duplicates
        expect(ids.length).toBe(committed.size); // nothing missing, nothing uncommitted
        for (const id of ids) expect(committed.has(id)).toBe(true);
        assertOrdered(seen);
        // Per stream, revisions arrive in order with no gap.
        const perStream = new Map<string, number>();
        for (const e of seen) {
          expect(e.streamRevision).toBe((perStream.get(e.streamId) ?? -1) + 1);
          perStream.set(e.streamId, e.streamRevision);
        }
        expect(committed.size).toBeGreaterThanOrEqual(20_000);
        expect(restarted).toBe(true);
        if (h.supportsFaults) {
          expect(rolledBack).toBeGreaterThan(0);
          expect(slowed).toBeGreaterThan(0);
        }
        console.log(
          `[event store contract] ${adapter}: ${WRITERS} writers, ${committed.size} events committed, ` +
            `${rolledBack} transactions rolled back, ${slowed} slowed; three subscribers of one store saw each of theirs once, in order`,
        );
        await Promise.all([...writers, reader].map((s) => s.close()));
      }, 180_000);
    });
  });
}

// ------------------------------------------------------------------ helpers

function assertOrdered(events: readonly RecordedEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect(compareCheckpoints(events[i - 1]!.globalPosition, events[i]!.globalPosition)).toBe(-1);
  }
}
