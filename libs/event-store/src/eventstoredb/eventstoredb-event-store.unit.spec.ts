/**
 * The adapter's requests and its reading of the answers, against a fake transport that
 * records every call and answers as the test says (no server). What the server itself
 * decides is checked by the contract suite where EVENTSTORE_URL names one.
 */
import { StreamNotFoundError, UnavailableError, WrongExpectedVersionError } from '@eventstore/db-client';
import { testEvent as event } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { START } from '../checkpoint.js';
import {
  DuplicateEventId,
  EventStoreUnavailable,
  InvalidAppend,
  InvalidArgument,
  StreamNotFound,
  WrongExpectedRevision,
} from '../errors.js';
import { contentHash, eventHash, type PersonalSalts } from '../integrity/event-hash.js';
import type { NewEvent, ReadAllPage } from '../types.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import {
  positionToCheckpoint,
  toEsdbEvent,
  type EsdbEventData,
  type EsdbEventMetadata,
  type EsdbPosition,
  type EsdbRecordedEvent,
} from './mapping.js';
import {
  buildReadAllRequest,
  type EsdbSubscription,
  type EsdbTransport,
  type ReadAllRequest,
  type ReadStreamRequest,
  type SubscribeRequest,
} from './transport.js';

const at = (n: number): EsdbPosition => ({ commit: BigInt(n), prepare: BigInt(n) });

const recorded = (streamId: string, revision: number, position: number, type = 'A'): EsdbRecordedEvent => {
  const e = toEsdbEvent(event(type));
  return {
    streamId,
    id: e.id,
    revision: BigInt(revision),
    type,
    data: e.data,
    metadata: e.metadata,
    created: new Date(),
    position: at(position),
  };
};

const HASH = 'ab'.repeat(32);

/** A recorded event whose metadata carries a link with this hash. */
const chained = (e: EsdbRecordedEvent, hash: string): EsdbRecordedEvent => ({
  ...e,
  metadata: {
    ...(e.metadata as EsdbEventMetadata),
    heraldChain: { hash, previous: null, personal: null },
  },
});

/** An event's content hash as ADR 030 defines it (its JSON as the client sends it). */
const contentOf = (e: NewEvent, personal: PersonalSalts | null = null): string =>
  contentHash({
    eventId: e.eventId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: JSON.stringify(e.data),
    metadata: JSON.stringify(e.metadata),
    personal,
  });

/** A stream read answered from these events, as the server would (no retention). */
const serve =
  (stored: EsdbRecordedEvent[]) =>
  (_streamId: string, request: ReadStreamRequest): Promise<EsdbRecordedEvent[]> => {
    const sorted = [...stored].sort((a, b) => Number(a.revision - b.revision));
    const from = request.from === 'start' ? -Infinity : request.from === 'end' ? Infinity : Number(request.from);
    const picked =
      request.direction === 'forwards'
        ? sorted.filter((e) => Number(e.revision) >= from)
        : sorted.filter((e) => Number(e.revision) <= from).reverse();
    return Promise.resolve(picked.slice(0, request.maxCount));
  };

const wrongVersion = (streamName: string, current: bigint | 'no_stream'): WrongExpectedVersionError =>
  new WrongExpectedVersionError(undefined, { streamName, expected: 'any', current } as never);

type Call = [string, ...unknown[]];

/** A transport whose answers a test sets, and which records what it was asked. */
function fake(answers: Partial<EsdbTransport> = {}): {
  transport: EsdbTransport;
  calls: Call[];
  subscription: FakeSubscription;
} {
  const calls: Call[] = [];
  const subscription = new FakeSubscription();
  const record =
    <A extends unknown[], R>(name: string, fallback: (...args: A) => R) =>
    (...args: A): R => {
      calls.push([name, ...args]);
      return fallback(...args);
    };
  const transport: EsdbTransport = {
    append: record('append', answers.append ?? (() => Promise.resolve({ nextExpectedRevision: 0n, position: at(10) }))),
    readStream: record('readStream', answers.readStream ?? (() => Promise.resolve([]))),
    readAll: record('readAll', answers.readAll ?? (() => Promise.resolve([]))),
    subscribeToAll: record('subscribeToAll', answers.subscribeToAll ?? (() => subscription)),
    getStreamMetadata: record('getStreamMetadata', answers.getStreamMetadata ?? (() => Promise.resolve(undefined))),
    setStreamMetadata: record('setStreamMetadata', answers.setStreamMetadata ?? (() => Promise.resolve())),
    deleteStream: record('deleteStream', answers.deleteStream ?? (() => Promise.resolve())),
    close: record('close', answers.close ?? (() => Promise.resolve())),
  };
  return { transport, calls, subscription };
}

class FakeSubscription implements EsdbSubscription {
  event?: (event: EsdbRecordedEvent) => void;
  checkpoint?: (position: EsdbPosition) => void;
  end?: (error?: Error) => void;
  paused = 0;
  resumed = 0;
  closed = false;
  onEvent(listener: (event: EsdbRecordedEvent) => void): void {
    this.event = listener;
  }
  onCheckpoint(listener: (position: EsdbPosition) => void): void {
    this.checkpoint = listener;
  }
  onEnd(listener: (error?: Error) => void): void {
    this.end = listener;
  }
  pause(): void {
    this.paused++;
  }
  resume(): void {
    this.resumed++;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

describe('the EventStoreDB adapter (fake transport)', () => {
  describe('append', () => {
    it('chains the events after the event at the expected revision (read once, then known) and sends them at it', async () => {
      const head = chained(recorded('s-1', 3, 60), HASH);
      const { transport, calls } = fake({
        readStream: serve([head]),
        append: () => Promise.resolve({ nextExpectedRevision: 5n, position: { commit: 900n, prepare: 880n } }),
      });
      const store = new EventStoreDbEventStore({ transport, personalFields: () => [] });
      const events = [event('A'), event('B')];
      expect(await store.append('s-1', events, 3)).toEqual({
        nextExpectedRevision: 5,
        checkpoint: positionToCheckpoint({ commit: 900n, prepare: 880n }),
      });
      expect(calls[0]).toEqual(['readStream', 's-1', { from: 3n, direction: 'forwards', maxCount: 1 }]);
      // The envelope as before, each event with its link: ADR 030's hash, chained to the one before.
      const h4 = eventHash('s-1', 4, contentOf(events[0]!), HASH);
      const h5 = eventHash('s-1', 5, contentOf(events[1]!), h4);
      expect(calls[1]).toEqual([
        'append',
        's-1',
        [
          toEsdbEvent(events[0]!, { hash: h4, previous: HASH, personal: null }),
          toEsdbEvent(events[1]!, { hash: h5, previous: h4, personal: null }),
        ],
        3n,
      ]);
      // The head it wrote is known: an append at it reads nothing first; no_stream needs no read either.
      const c = event('C');
      await store.append('s-1', [c], 5);
      expect(calls[2]).toEqual([
        'append',
        's-1',
        [toEsdbEvent(c, { hash: eventHash('s-1', 6, contentOf(c), h5), previous: h5, personal: null })],
        5n,
      ]);
      await store.append('s-2', [c], 'no_stream');
      expect(calls[3]).toEqual([
        'append',
        's-2',
        [toEsdbEvent(c, { hash: eventHash('s-2', 0, contentOf(c), null), previous: null, personal: null })],
        'no_stream',
      ]);
      expect(calls).toHaveLength(4);
    });

    it('salts personal fields (the catalogue’s by default) and keeps the salts in the link', async () => {
      const { transport, calls } = fake();
      const sent = event('MessageSent', { text: 'secret' });
      await new EventStoreDbEventStore({ transport }).append('s-1', [sent], 'no_stream');
      const [written] = calls[0]![2] as EsdbEventData[];
      const link = written!.metadata.heraldChain!;
      expect(Object.keys(link.personal!)).toEqual(['/text']);
      expect(link.hash).toBe(eventHash('s-1', 0, contentOf(sent, link.personal), null));
      // The data itself is stored as given: readers get the text.
      expect(written!.data).toEqual({ text: 'secret' });
    });

    it('validates before it sends anything', async () => {
      const { transport, calls } = fake();
      const store = new EventStoreDbEventStore({ transport });
      await expect(store.append('s-1', [], 'any')).rejects.toBeInstanceOf(InvalidAppend);
      await expect(store.append('$system', [event('A')], 'any')).rejects.toBeInstanceOf(InvalidAppend);
      await expect(store.readAll({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgument);
      expect(calls).toEqual([]);
    });

    it('an idempotent answer (no position) is read back and answered with the recorded place', async () => {
      const events = [event('A'), event('B')];
      const stored = [
        recorded('s-1', 2, 60),
        ...events.map((e, i) => ({ ...recorded('s-1', 3 + i, 70 + i), id: e.eventId })),
      ];
      const { transport, calls } = fake({
        append: () => Promise.resolve({ nextExpectedRevision: 4n }),
        readStream: serve(stored),
      });
      const store = new EventStoreDbEventStore({ transport });
      expect(await store.append('s-1', events, 2)).toEqual({
        nextExpectedRevision: 4,
        checkpoint: positionToCheckpoint(at(71)),
      });
      expect(calls[2]).toEqual(['readStream', 's-1', { from: 3n, direction: 'forwards', maxCount: 2 }]);
      // With `any` the stream's newest events are read with its head: a retry in order is
      // answered from them without an append; the same ids in another order are refused.
      const before = calls.length;
      expect(await store.append('s-1', events, 'any')).toEqual({
        nextExpectedRevision: 4,
        checkpoint: positionToCheckpoint(at(71)),
      });
      expect(calls[before]).toEqual(['readStream', 's-1', { from: 'end', direction: 'backwards', maxCount: 34 }]);
      await expect(store.append('s-1', [events[1]!, events[0]!], 'any')).rejects.toBeInstanceOf(DuplicateEventId);
      expect(calls.slice(before).filter((c) => c[0] === 'append')).toEqual([]);
    });

    it('WrongExpectedVersion: the actual revision, or DuplicateEventId when the ids stand at the expected place', async () => {
      const a = event('A');
      const stored = [recorded('s-1', 0, 10), recorded('s-1', 1, 11), recorded('s-1', 2, 12), recorded('s-1', 3, 13)];
      const { transport, calls } = fake({
        append: () => Promise.reject(wrongVersion('s-1', 3n)),
        readStream: serve(stored),
      });
      const store = new EventStoreDbEventStore({ transport });
      await expect(store.append('s-1', [a], 1)).rejects.toMatchObject({
        constructor: WrongExpectedRevision,
        expected: 1,
        actual: 3,
      });
      expect(calls[2]).toEqual(['readStream', 's-1', { from: 2n, direction: 'forwards', maxCount: 1 }]);
      stored[2] = { ...recorded('s-1', 2, 12), id: a.eventId };
      await expect(store.append('s-1', [a], 1)).rejects.toBeInstanceOf(DuplicateEventId);
      // A stream short of the expected revision is refused without an append (nothing to chain to).
      const before = calls.length;
      await expect(store.append('s-1', [event('B')], 7)).rejects.toMatchObject({ actual: 3 });
      expect(calls.slice(before).filter((c) => c[0] === 'append')).toEqual([]);
      // `stream_exists` on a stream without events: refused, nothing sent.
      const empty = fake({ append: () => Promise.reject(wrongVersion('s-9', 'no_stream')) });
      await expect(
        new EventStoreDbEventStore({ transport: empty.transport }).append('s-9', [a], 'stream_exists'),
      ).rejects.toMatchObject({ constructor: WrongExpectedRevision, actual: 'no_stream' });
      expect(empty.calls.filter((c) => c[0] === 'append' && (c[2] as unknown[]).length > 0)).toEqual([]);
    });

    it('any: appends at the revision it read; losing the race, reads again and chains to the new head', async () => {
      const stored = [chained(recorded('s-1', 0, 10), HASH)];
      let refusals = 2;
      const { transport, calls } = fake({
        readStream: serve(stored),
        append: () => {
          if (refusals-- > 0) {
            // Another writer got there first.
            stored.push(chained(recorded('s-1', stored.length, 20 + stored.length), String(stored.length).repeat(64)));
            return Promise.reject(wrongVersion('s-1', BigInt(stored.length - 1)));
          }
          return Promise.resolve({ nextExpectedRevision: BigInt(stored.length), position: at(99) });
        },
      });
      const e = event('A');
      const result = await new EventStoreDbEventStore({ transport, personalFields: () => [] }).append(
        's-1',
        [e],
        'any',
      );
      expect(result).toEqual({ nextExpectedRevision: 3, checkpoint: positionToCheckpoint(at(99)) });
      const appends = calls.filter((c) => c[0] === 'append');
      expect(appends.map((c) => c[3])).toEqual([0n, 1n, 2n]);
      // Each attempt was chained to the head it read, never to a stale one.
      expect(appends.map((c) => (c[2] as EsdbEventData[])[0]!.metadata.heraldChain!.previous)).toEqual([
        HASH,
        '1'.repeat(64),
        '2'.repeat(64),
      ]);
      expect((appends[2]![2] as EsdbEventData[])[0]!.metadata.heraldChain!.hash).toBe(
        eventHash('s-1', 3, contentOf(e), '2'.repeat(64)),
      );
    });

    it('a head the stream no longer serves (deleted, or past retention) is found in $all, backwards', async () => {
      const hidden = chained(recorded('s-1', 4, 40), HASH);
      const { transport, calls } = fake({
        readStream: () => Promise.reject(new StreamNotFoundError(undefined, 's-1')),
        // The revision comes from the append of nothing; then the append itself.
        append: (_s, events) =>
          events.length === 0
            ? Promise.reject(wrongVersion('s-1', 4n))
            : Promise.resolve({ nextExpectedRevision: 5n, position: at(50) }),
        readAll: () => Promise.resolve([recorded('s-10', 0, 45), hidden, recorded('s-1', 3, 30)]),
      });
      const e = event('A');
      await new EventStoreDbEventStore({ transport, personalFields: () => [] }).append('s-1', [e], 4);
      expect(calls.find((c) => c[0] === 'readAll')).toEqual([
        'readAll',
        { from: 'end', direction: 'backwards', maxCount: 100, filter: { filterOn: 'streamName', prefixes: ['s-1'] } },
      ]);
      const sent = calls.filter((c) => c[0] === 'append' && (c[2] as unknown[]).length > 0);
      expect(sent).toEqual([
        [
          'append',
          's-1',
          [toEsdbEvent(e, { hash: eventHash('s-1', 5, contentOf(e), HASH), previous: HASH, personal: null })],
          4n,
        ],
      ]);
      // Scavenged (not in $all either): the chain cannot go on, and the append says so.
      const gone = fake({
        readStream: () => Promise.reject(new StreamNotFoundError(undefined, 's-1')),
        append: () => Promise.reject(wrongVersion('s-1', 4n)),
        readAll: () => Promise.resolve([recorded('s-1', 3, 30)]),
      });
      await expect(new EventStoreDbEventStore({ transport: gone.transport }).append('s-1', [e], 4)).rejects.toThrow(
        /no longer stored/,
      );
    });

    it('the server out of reach is EventStoreUnavailable', async () => {
      const { transport } = fake({ append: () => Promise.reject(new UnavailableError()) });
      await expect(new EventStoreDbEventStore({ transport }).append('s-1', [event('A')], 'any')).rejects.toBeInstanceOf(
        EventStoreUnavailable,
      );
    });
  });

  describe('readChain', () => {
    it('reads the stream forwards and gives each event as its link covers it; a missing stream has none', async () => {
      const link = chained(recorded('s-1', 2, 20), 'f'.repeat(64));
      const { transport, calls } = fake({ readStream: serve([link]) });
      const store = new EventStoreDbEventStore({ transport });
      const [read] = await store.readChain('s-1', { from: 2, limit: 5 });
      expect(calls[0]).toEqual(['readStream', 's-1', { from: 2n, direction: 'forwards', maxCount: 5 }]);
      expect(read).toMatchObject({ streamRevision: 2, previous: null, hash: 'f'.repeat(64) });
      const missing = fake({ readStream: () => Promise.reject(new StreamNotFoundError(undefined, 's-2')) });
      expect(await new EventStoreDbEventStore({ transport: missing.transport }).readChain('s-2')).toEqual([]);
      await expect(store.readChain('s-1', { limit: 0 })).rejects.toBeInstanceOf(InvalidArgument);
    });
  });

  describe('reads', () => {
    it('readStream asks for the window and maps a missing stream to StreamNotFound', async () => {
      const events = [recorded('s-1', 9, 90), recorded('s-1', 8, 80)];
      const { transport, calls } = fake({ readStream: () => Promise.resolve(events) });
      const store = new EventStoreDbEventStore({ transport });
      const read = await store.readStream('s-1', { direction: 'backwards', limit: 2 });
      expect(read.map((e) => [e.streamRevision, e.globalPosition])).toEqual([
        [9, positionToCheckpoint(at(90))],
        [8, positionToCheckpoint(at(80))],
      ]);
      expect(calls[0]).toEqual(['readStream', 's-1', { from: 'end', direction: 'backwards', maxCount: 2 }]);
      await store.readStream('s-1', { from: 4 });
      expect(calls[1]).toEqual(['readStream', 's-1', { from: 4n, direction: 'forwards', maxCount: 1000 }]);
      const missing = fake({ readStream: () => Promise.reject(new StreamNotFoundError(undefined, 's-2')) });
      await expect(
        new EventStoreDbEventStore({ transport: missing.transport }).readStream('s-2'),
      ).rejects.toBeInstanceOf(StreamNotFound);
    });

    it('readAll: a server-side filter, one more than the limit from the checkpoint, the event at it dropped', async () => {
      const from = positionToCheckpoint(at(100));
      const raw = [
        recorded('c-1', 0, 100),
        recorded('c-1', 1, 101, 'A'),
        recorded('c-2', 0, 102, 'B'),
        { ...recorded('c-3', 0, 103), metadata: { foreign: true } },
      ];
      const { transport, calls } = fake({ readAll: () => Promise.resolve(raw) });
      const store = new EventStoreDbEventStore({ transport });
      const page = await store.readAll({ from, limit: 3, filter: { streamPrefixes: ['c-'], eventTypes: ['A'] } });
      expect(calls[0]).toEqual([
        'readAll',
        { from: at(100), direction: 'forwards', maxCount: 4, filter: { filterOn: 'streamName', prefixes: ['c-'] } },
      ]);
      // B is skipped here (the type filter), the foreign event too; the checkpoint is past both.
      expect(page.events.map((e) => e.globalPosition)).toEqual([positionToCheckpoint(at(101))]);
      expect(page.checkpoint).toBe(positionToCheckpoint(at(103)));
      await store.readAll();
      expect(calls[1]).toEqual([
        'readAll',
        { from: 'start', direction: 'forwards', maxCount: 1001, filter: { filterOn: 'eventType', regex: '^[^$]' } },
      ]);
    });

    it('headCheckpoint reads the newest non-system event backwards; countEventsAfter counts past the checkpoint', async () => {
      const { transport, calls } = fake({
        readAll: () => Promise.resolve([recorded('c-1', 0, 7), recorded('c-1', 1, 8)]),
      });
      const store = new EventStoreDbEventStore({ transport });
      expect(await store.headCheckpoint()).toBe(positionToCheckpoint(at(7)));
      expect(calls[0]).toEqual([
        'readAll',
        { from: 'end', direction: 'backwards', maxCount: 1, filter: { filterOn: 'eventType', regex: '^[^$]' } },
      ]);
      expect(await store.countEventsAfter(positionToCheckpoint(at(7)), 10)).toBe(1);
      expect(await store.countEventsAfter(START, 1)).toBe(1);
      const empty = fake();
      expect(await new EventStoreDbEventStore({ transport: empty.transport }).headCheckpoint()).toBe(START);
    });

    it('builds the filtered gRPC read the client has no method for', () => {
      const request = (r: Partial<ReadAllRequest>) =>
        buildReadAllRequest({
          from: 'start',
          direction: 'forwards',
          maxCount: 10,
          filter: { filterOn: 'eventType', regex: '^[^$]' },
          ...r,
        }).getOptions()!;
      const byType = request({});
      expect(byType.getAll()!.hasStart()).toBe(true);
      expect(byType.getCount()).toBe('10');
      expect(byType.getReadDirection()).toBe(0);
      expect(byType.hasNoFilter()).toBe(false);
      expect(byType.getFilter()!.getEventType()!.getRegex()).toBe('^[^$]');
      expect(byType.getFilter()!.hasCount()).toBe(true);
      const byPrefix = request({
        from: { commit: 12n, prepare: 11n },
        direction: 'backwards',
        filter: { filterOn: 'streamName', prefixes: ['room-', 'person-'] },
      });
      expect(byPrefix.getAll()!.getPosition()!.getCommitPosition()).toBe('12');
      expect(byPrefix.getAll()!.getPosition()!.getPreparePosition()).toBe('11');
      expect(byPrefix.getReadDirection()).toBe(1);
      expect(byPrefix.getFilter()!.getStreamIdentifier()!.getPrefixList()).toEqual(['room-', 'person-']);
      expect(request({ from: 'end' }).getAll()!.hasEnd()).toBe(true);
    });
  });

  describe('subscribeToAll', () => {
    it('resumes after the stored checkpoint, batches what arrived, advances on checkpoints, and closes on abort', async () => {
      const { transport, calls, subscription } = fake();
      const store = new EventStoreDbEventStore({ transport });
      const controller = new AbortController();
      const from = positionToCheckpoint(at(10));
      const pages: ReadAllPage[] = [];
      const following = (async () => {
        for await (const page of store.subscribeToAll({
          from,
          limit: 2,
          signal: controller.signal,
          filter: { streamPrefixes: ['c-'] },
        })) {
          pages.push(page);
          if (pages.length === 3) controller.abort();
        }
      })();
      await new Promise((r) => setImmediate(r));
      expect(calls[0]).toEqual([
        'subscribeToAll',
        {
          from: at(10),
          filter: { filterOn: 'streamName', prefixes: ['c-'] },
          checkpointInterval: 1,
        } satisfies SubscribeRequest,
      ]);
      // A repeat of the event at the checkpoint is never delivered again.
      subscription.event!(recorded('c-1', 0, 10));
      subscription.event!(recorded('c-1', 1, 11));
      subscription.event!(recorded('c-1', 2, 12));
      subscription.event!(recorded('c-1', 3, 13));
      await new Promise((r) => setImmediate(r));
      subscription.checkpoint!(at(20));
      await following;
      expect(pages.map((p) => [p.events.map((e) => e.streamRevision), p.checkpoint])).toEqual([
        [[1, 2], positionToCheckpoint(at(12))],
        [[3], positionToCheckpoint(at(13))],
        [[], positionToCheckpoint(at(20))],
      ]);
      expect(subscription.closed).toBe(true);
    });

    it('a subscription the server ends fails the reader with EventStoreUnavailable', async () => {
      const { transport, subscription } = fake();
      const store = new EventStoreDbEventStore({ transport });
      const iterator = store.subscribeToAll()[Symbol.asyncIterator]();
      const next = iterator.next();
      await new Promise((r) => setImmediate(r));
      subscription.end!(new UnavailableError());
      await expect(next).rejects.toBeInstanceOf(EventStoreUnavailable);
    });
  });

  describe('stream metadata and deletion', () => {
    it('writes retention without undoing a soft delete, and reads a deleted stream as deleted', async () => {
      const deletedMarker = JSON.parse('9223372036854775807') as number;
      const { transport, calls } = fake({
        getStreamMetadata: () => Promise.resolve({ $tb: deletedMarker }),
        readStream: () => Promise.reject(new StreamNotFoundError(undefined, 's-1')),
        append: () => Promise.reject(wrongVersion('s-1', 1n)),
      });
      const store = new EventStoreDbEventStore({ transport });
      expect(await store.getStreamInfo('s-1')).toEqual({ revision: 1, deleted: true, metadata: {} });
      await store.setStreamMetadata('s-1', { maxAgeSeconds: 60 });
      expect(calls.filter((c) => c[0] === 'setStreamMetadata')).toEqual([
        ['setStreamMetadata', 's-1', { $maxAge: 60, $tb: 2, heraldCut: 2, heraldDeletedAt: 1 }],
      ]);
      // The revision of a stream with nothing to read comes from an append of nothing that cannot match.
      expect(calls.find((c) => c[0] === 'append')).toEqual(['append', 's-1', [], BigInt(Number.MAX_SAFE_INTEGER)]);
    });

    it('deletes with the expected revision; a stream with no events is StreamNotFound', async () => {
      let exists = true;
      const { transport, calls } = fake({
        readStream: () =>
          exists ? Promise.resolve([recorded('s-1', 1, 5)]) : Promise.reject(new StreamNotFoundError(undefined, 's-1')),
        append: () => Promise.reject(wrongVersion('s-1', 'no_stream')),
        deleteStream: (_id, expected) =>
          expected === 0n ? Promise.reject(wrongVersion('s-1', 1n)) : Promise.resolve(),
      });
      const store = new EventStoreDbEventStore({ transport });
      await store.deleteStream('s-1', 1);
      await store.deleteStream('s-1');
      await store.deleteStream('s-1', 'stream_exists');
      await expect(store.deleteStream('s-1', 0)).rejects.toMatchObject({
        constructor: WrongExpectedRevision,
        actual: 1,
      });
      expect(calls.filter((c) => c[0] === 'deleteStream').map((c) => c[2])).toEqual([1n, 'any', 'any', 0n]);
      exists = false;
      await expect(store.deleteStream('s-1')).rejects.toBeInstanceOf(StreamNotFound);
    });
  });
});
