import { testEvent as event } from '@herald/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCheckpoints, decodeCheckpoint, START } from '../checkpoint.js';
import { DuplicateEventId, WrongExpectedRevision } from '../errors.js';
import { prepareEvents, type PreparedEvent } from '../integrity/chain.js';
import { contentHash, eventHash } from '../integrity/event-hash.js';
import type { NewEvent } from '../types.js';
import { validateAppend } from '../validation.js';
import {
  chainFieldsOf,
  checkpointToPosition,
  EXCLUDE_SYSTEM_EVENTS,
  expectedFirstRevision,
  fromEsdbCurrentRevision,
  fromEsdbEvent,
  fromEsdbStreamMetadata,
  isAfter,
  isHeraldEvent,
  judgeIdempotentAppend,
  judgeRecentRetry,
  judgeRefusedAppend,
  passesClientFilter,
  planFilter,
  positionToCheckpoint,
  toChainedEsdbEvents,
  toChainedEvent,
  toEsdbEvent,
  toEsdbExpectedRevision,
  toEsdbStreamMetadata,
  type EsdbRecordedEvent,
  type PlacedEvent,
} from './mapping.js';

const u63 = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });

describe('expected revisions, both ways', () => {
  it('maps the port to the client', () => {
    expect(toEsdbExpectedRevision('any')).toBe('any');
    expect(toEsdbExpectedRevision('no_stream')).toBe('no_stream');
    expect(toEsdbExpectedRevision('stream_exists')).toBe('stream_exists');
    expect(toEsdbExpectedRevision(0)).toBe(0n);
    expect(toEsdbExpectedRevision(41)).toBe(41n);
  });

  it('maps the revision the server reports to the port', () => {
    expect(fromEsdbCurrentRevision(7n)).toBe(7);
    expect(fromEsdbCurrentRevision(0n)).toBe(0);
    expect(fromEsdbCurrentRevision('no_stream')).toBe('no_stream');
    expect(fromEsdbCurrentRevision(undefined)).toBe('no_stream');
  });

  it('says where an expected revision puts the first event', () => {
    expect(expectedFirstRevision('no_stream')).toBe(0);
    expect(expectedFirstRevision(4)).toBe(5);
    expect(expectedFirstRevision('any')).toBeNull();
    expect(expectedFirstRevision('stream_exists')).toBeNull();
  });
});

describe('positions and checkpoints', () => {
  it('round-trip, and sort as strings the way $all orders positions (commit, then prepare)', () => {
    fc.assert(
      fc.property(u63, u63, u63, u63, (c1, p1, c2, p2) => {
        const a = positionToCheckpoint({ commit: c1, prepare: p1 });
        const b = positionToCheckpoint({ commit: c2, prepare: p2 });
        expect(checkpointToPosition(a)).toEqual(a === START ? 'start' : { commit: c1, prepare: p1 });
        expect(decodeCheckpoint(a)).toEqual([c1, p1]);
        const byPosition = c1 === c2 ? Math.sign(Number(p1 - p2)) : c1 < c2 ? -1 : 1;
        expect(compareCheckpoints(a, b)).toBe(byPosition);
        expect(a < b ? -1 : a > b ? 1 : 0).toBe(byPosition);
      }),
    );
  });

  it('START is the start of the log; reads from a position exclude it', () => {
    expect(checkpointToPosition(START)).toBe('start');
    const at = positionToCheckpoint({ commit: 100n, prepare: 100n });
    expect(isAfter({ commit: 100n, prepare: 100n }, at)).toBe(false);
    expect(isAfter({ commit: 100n, prepare: 101n }, at)).toBe(true);
    expect(isAfter({ commit: 101n, prepare: 0n }, at)).toBe(true);
    expect(isAfter({ commit: 99n, prepare: 200n }, at)).toBe(false);
  });
});

describe('events', () => {
  it("keeps Herald's envelope whole in EventStoreDB's metadata and reads it back", () => {
    const e = { ...event('MessageSent', { text: 'hi' }), schemaVersion: 3 };
    const metadata = { ...e.metadata, clientMessageId: 'm-1', traceparent: '00-abc-def-01', extra: { nested: true } };
    const written = toEsdbEvent({ ...e, metadata });
    expect(written).toEqual({
      id: e.eventId,
      type: 'MessageSent',
      data: { text: 'hi' },
      metadata: {
        $correlationId: metadata.correlationId,
        $causationId: metadata.causationId,
        schemaVersion: 3,
        herald: metadata,
      },
    });
    const created = new Date('2026-12-07T10:00:00Z');
    const recorded: EsdbRecordedEvent = {
      streamId: 'room-1',
      id: e.eventId,
      revision: 12n,
      type: written.type,
      data: JSON.parse(JSON.stringify(written.data)) as unknown,
      metadata: JSON.parse(JSON.stringify(written.metadata)) as unknown,
      created,
      position: { commit: 500n, prepare: 480n },
    };
    expect(isHeraldEvent(recorded)).toBe(true);
    expect(fromEsdbEvent(recorded, undefined)).toEqual({
      eventId: e.eventId,
      type: 'MessageSent',
      schemaVersion: 3,
      data: { text: 'hi' },
      metadata,
      streamId: 'room-1',
      streamRevision: 12,
      globalPosition: positionToCheckpoint({ commit: 500n, prepare: 480n }),
      recordedAt: created,
    });
  });

  it('tells system events and foreign writers’ events from Herald’s', () => {
    const base = { metadata: { schemaVersion: 1, herald: {} } };
    expect(isHeraldEvent({ ...base, type: '$metadata' })).toBe(false);
    expect(isHeraldEvent({ type: 'Foreign', metadata: { $correlationId: 'x' } })).toBe(false);
    expect(isHeraldEvent({ type: 'Foreign', metadata: undefined })).toBe(false);
    expect(isHeraldEvent({ ...base, type: 'MessageSent' })).toBe(true);
  });
});

describe('filters', () => {
  it('no filter: the server excludes system events ($-types)', () => {
    expect(planFilter(undefined)).toEqual({
      server: { filterOn: 'eventType', regex: EXCLUDE_SYSTEM_EVENTS },
      client: null,
    });
    expect(new RegExp(EXCLUDE_SYSTEM_EVENTS).test('$metadata')).toBe(false);
    expect(new RegExp(EXCLUDE_SYSTEM_EVENTS).test('MessageSent')).toBe(true);
  });

  it('prefixes go to the server, types are then checked here', () => {
    const plan = planFilter({ streamPrefixes: ['room-', 'person-'], eventTypes: ['MessageSent'] });
    expect(plan.server).toEqual({ filterOn: 'streamName', prefixes: ['room-', 'person-'] });
    expect(passesClientFilter(plan, { type: 'MessageSent', streamId: 'room-1' })).toBe(true);
    expect(passesClientFilter(plan, { type: 'MessageEdited', streamId: 'room-1' })).toBe(false);
    expect(planFilter({ streamPrefixes: ['x-'] }).client).toBeNull();
  });

  it('types alone go to the server as an anchored regex with dots escaped', () => {
    const plan = planFilter({ eventTypes: ['MessageSent', 'audit.Checked'] });
    expect(plan).toEqual({
      server: { filterOn: 'eventType', regex: '^(?:MessageSent|audit\\.Checked)$' },
      client: null,
    });
    const regex = new RegExp((plan.server as { regex: string }).regex);
    expect(['MessageSent', 'audit.Checked'].map((t) => regex.test(t))).toEqual([true, true]);
    expect(['MessageSentX', 'auditXChecked', '$metadata', 'XMessageSent'].some((t) => regex.test(t))).toBe(false);
    const none = new RegExp((planFilter({ eventTypes: [] }).server as { regex: string }).regex);
    expect(['', 'MessageSent'].some((t) => none.test(t))).toBe(false);
  });
});

describe('stream metadata ($maxAge, $maxCount, $tb) and soft deletion', () => {
  it('maps retention settings both ways', () => {
    const stored = toEsdbStreamMetadata({ maxAgeSeconds: 3600, maxCount: 10, truncateBefore: 3 }, undefined, 20);
    expect(stored).toEqual({ $maxAge: 3600, $maxCount: 10, $tb: 3, heraldTruncateBefore: 3 });
    expect(fromEsdbStreamMetadata(stored, 20)).toEqual({
      deleted: false,
      metadata: { maxAgeSeconds: 3600, maxCount: 10, truncateBefore: 3 },
    });
    expect(toEsdbStreamMetadata({}, stored, 20)).toEqual({});
    expect(fromEsdbStreamMetadata(undefined, -1)).toEqual({ deleted: false, metadata: {} });
  });

  it('a soft-deleted stream ($tb = long.MaxValue, as JSON.parse reads it) is deleted; retention set then keeps it deleted and cut', () => {
    const deleted = { $tb: JSON.parse('9223372036854775807') as number };
    expect(fromEsdbStreamMetadata(deleted, 1).deleted).toBe(true);
    const stored = toEsdbStreamMetadata({ maxAgeSeconds: 3600 }, deleted, 1);
    expect(stored).toEqual({ $maxAge: 3600, $tb: 2, heraldCut: 2, heraldDeletedAt: 1 });
    // Still deleted until the stream is written again; then the new event is not cut.
    expect(fromEsdbStreamMetadata(stored, 1)).toEqual({ deleted: true, metadata: { maxAgeSeconds: 3600 } });
    expect(fromEsdbStreamMetadata(stored, 2).deleted).toBe(false);
  });

  it('the cut the server set when a deleted stream was written again survives later settings', () => {
    // EventStoreDB recreated the stream: $tb is the first revision after the delete.
    const revived = { $maxAge: 60, $tb: 5 };
    expect(fromEsdbStreamMetadata(revived, 7)).toEqual({ deleted: false, metadata: { maxAgeSeconds: 60 } });
    const stored = toEsdbStreamMetadata({ maxCount: 100 }, revived, 7);
    expect(stored).toEqual({ $maxCount: 100, $tb: 5, heraldCut: 5 });
    // A caller's truncate-before below the cut does not bring the history back; above it, it wins.
    expect(toEsdbStreamMetadata({ truncateBefore: 2 }, stored, 7)).toEqual({
      $tb: 5,
      heraldTruncateBefore: 2,
      heraldCut: 5,
    });
    expect(toEsdbStreamMetadata({ truncateBefore: 6 }, stored, 7)).toEqual({
      $tb: 6,
      heraldTruncateBefore: 6,
      heraldCut: 5,
    });
    // The caller's own $tb is not a cut: lowering it later is allowed.
    const own = toEsdbStreamMetadata({ truncateBefore: 4 }, undefined, 7);
    expect(toEsdbStreamMetadata({ truncateBefore: 1 }, own, 7)).toEqual({ $tb: 1, heraldTruncateBefore: 1 });
  });
});

describe('appends the server did not write', () => {
  const placed = (ids: string[], first: number): PlacedEvent[] =>
    ids.map((eventId, i) => ({
      eventId,
      revision: first + i,
      checkpoint: positionToCheckpoint({ commit: BigInt(100 + i), prepare: BigInt(100 + i) }),
    }));

  it('an idempotent answer whose events stand there in order is a retry: the last one’s place', () => {
    const [a, b] = [event('A'), event('B')];
    const back = placed([a.eventId, b.eventId], 3);
    expect(judgeIdempotentAppend('s-1', [a, b], back)).toBe(back[1]);
    // Ids compare without case (UUIDs).
    expect(judgeIdempotentAppend('s-1', [{ ...a, eventId: a.eventId.toUpperCase() }], placed([a.eventId], 0))).toEqual(
      placed([a.eventId], 0)[0],
    );
  });

  it('an idempotent answer with the ids in another order (the server’s `any` check) is refused', () => {
    const [a, b] = [event('A'), event('B')];
    expect(judgeIdempotentAppend('s-1', [b, a], placed([a.eventId, b.eventId], 0))).toBeInstanceOf(DuplicateEventId);
    expect(judgeIdempotentAppend('s-1', [a, b], placed([a.eventId], 0))).toBeInstanceOf(DuplicateEventId);
  });

  it('a refusal with ids of the append at the expected place is a duplicate; otherwise a lost race with the actual revision', () => {
    const [a, b] = [event('A'), event('B')];
    expect(judgeRefusedAppend('s-1', [b, a], 'no_stream', 1, placed([a.eventId, b.eventId], 0))).toBeInstanceOf(
      DuplicateEventId,
    );
    const lost = judgeRefusedAppend('s-1', [a], 0, 3, placed([event('X').eventId], 1));
    expect(lost).toBeInstanceOf(WrongExpectedRevision);
    expect(lost).toMatchObject({ streamId: 's-1', expected: 0, actual: 3 });
    expect(judgeRefusedAppend('s-1', [a], 'stream_exists', 'no_stream', [])).toMatchObject({
      constructor: WrongExpectedRevision,
      actual: 'no_stream',
    });
  });
});

describe('the hash chain in the metadata', () => {
  const noPersonal = (e: NewEvent): PreparedEvent[] => prepareEvents(validateAppend('s-1', [e], 'any'), () => []);

  it('links each event to the head and to the one before it, beside (not inside) Herald’s metadata', () => {
    const [a, b] = [event('A', { n: 1 }), event('B', { text: 'ünïcode "q"' })];
    const head = { revision: 6, hash: 'ab'.repeat(32) };
    const [wa, wb] = toChainedEsdbEvents('s-1', [...noPersonal(a), ...noPersonal(b)], head);
    const content = (e: NewEvent): string =>
      contentHash({
        eventId: e.eventId,
        type: e.type,
        schemaVersion: 1,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
        personal: null,
      });
    const ha = eventHash('s-1', 7, content(a), head.hash);
    expect(wa!.metadata.heraldChain).toEqual({ hash: ha, previous: head.hash, personal: null });
    expect(wb!.metadata.heraldChain).toEqual({
      hash: eventHash('s-1', 8, content(b), ha),
      previous: ha,
      personal: null,
    });
    expect(wa!.metadata.herald).toBe(a.metadata);
    // A new stream's first event has no predecessor.
    expect(toChainedEsdbEvents('s-2', noPersonal(a), { revision: -1, hash: null })[0]!.metadata.heraldChain).toEqual({
      hash: eventHash('s-2', 0, content(a), null),
      previous: null,
      personal: null,
    });
  });

  it('reads an event back as its link covers it: the same JSON text, salts, hash and predecessor', () => {
    const e = event('MessageSent', { text: 'hi', n: 1.5, nested: { z: 1, a: [true, null] } });
    const [prepared] = prepareEvents(validateAppend('s-1', [e], 'any'), () => ['text']);
    const [written] = toChainedEsdbEvents('s-1', [prepared!], { revision: 2, hash: 'cd'.repeat(32) });
    // What the client parses from what it sent.
    const recorded: EsdbRecordedEvent = {
      streamId: 's-1',
      id: e.eventId,
      revision: 3n,
      type: e.type,
      data: JSON.parse(JSON.stringify(written!.data)) as unknown,
      metadata: JSON.parse(JSON.stringify(written!.metadata)) as unknown,
      created: new Date(),
      position: { commit: 70n, prepare: 70n },
    };
    const chained = toChainedEvent(recorded);
    expect(chained).toEqual({
      streamId: 's-1',
      streamRevision: 3,
      eventId: e.eventId,
      type: 'MessageSent',
      schemaVersion: 1,
      data: prepared!.data,
      metadata: prepared!.metadata,
      personal: JSON.parse(prepared!.chain!.personal!) as unknown,
      hash: written!.metadata.heraldChain!.hash,
      previous: 'cd'.repeat(32),
      globalPosition: positionToCheckpoint({ commit: 70n, prepare: 70n }),
    });
    expect(chainFieldsOf(recorded)).toEqual(written!.metadata.heraldChain);
    expect(eventHash('s-1', 3, contentHash(chained), 'cd'.repeat(32))).toBe(chained.hash);
  });

  it('an event without a link (written before it, or by another writer) reads with no hash and no predecessor', () => {
    const foreign: EsdbRecordedEvent = {
      streamId: 's-1',
      id: event('X').eventId,
      revision: 0n,
      type: 'Foreign',
      data: { a: 1 },
      metadata: { whatever: true },
      created: new Date(),
      position: { commit: 5n, prepare: 5n },
    };
    expect(chainFieldsOf(foreign)).toBeUndefined();
    const chained = toChainedEvent(foreign);
    expect(chained).toMatchObject({ hash: null, personal: null, data: '{"a":1}', metadata: '{"whatever":true}' });
    expect(chained).not.toHaveProperty('previous');
    expect(toChainedEvent({ ...foreign, metadata: toEsdbEvent(event('A')).metadata }).hash).toBeNull();
  });

  it('an any-append among the stream’s newest events: a retry in order, a duplicate otherwise, or new', () => {
    const [a, b, c] = [event('A'), event('B'), event('C')];
    const recent: PlacedEvent[] = [c, b, a].map((e, i) => ({
      eventId: e.eventId.toUpperCase(),
      revision: 9 - i,
      checkpoint: positionToCheckpoint({ commit: BigInt(90 - i), prepare: 0n }),
    }));
    expect(judgeRecentRetry('s-1', [a, b], recent)).toBe(recent[1]);
    expect(judgeRecentRetry('s-1', [c], recent)).toBe(recent[0]);
    expect(judgeRecentRetry('s-1', [b, a], recent)).toBeInstanceOf(DuplicateEventId);
    expect(judgeRecentRetry('s-1', [event('D'), a], recent)).toMatchObject({ eventId: a.eventId });
    expect(judgeRecentRetry('s-1', [event('D')], recent)).toBeUndefined();
  });
});
