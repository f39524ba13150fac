import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../checkpoint.js';
import { DuplicateEventId, WrongExpectedRevision } from '../errors.js';
import type { ExpectedRevision } from '../types.js';
import type { SerializedEvent } from '../validation.js';
import type { PendingAppend } from './append-queue.js';
import { planBatch, type RecordedRow, type StreamState } from './write-plan.js';
import { prepareEvents } from '../integrity/chain.js';
import { eventHash } from '../integrity/event-hash.js';

function serialized(eventId: string = randomUUID()): SerializedEvent {
  return {
    event: {
      eventId,
      type: 'A',
      schemaVersion: 1,
      data: {},
      metadata: { actorId: 'a', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
    },
    data: '{}',
    metadata: '{}',
  };
}

function pending(streamId: string, events: SerializedEvent[], expected: ExpectedRevision): PendingAppend {
  return { streamId, events, bytes: 0, expected, resolve: () => undefined, reject: () => undefined };
}

/** The streams' revisions as the transaction read them. */
const streams = (revisions: Record<string, number>): Map<string, StreamState> =>
  new Map(Object.entries(revisions).map(([id, revision]) => [id, { revision, hash: null }]));

const row = (event: SerializedEvent, streamId: string, revision: number, tx = 7, pos = 70): RecordedRow => ({
  event_id: event.event.eventId.toLowerCase(),
  stream_id: streamId,
  stream_revision: String(revision),
  tx: String(tx),
  pos: String(pos),
});

const recorded = (...rows: RecordedRow[]): Map<string, RecordedRow> => new Map(rows.map((r) => [r.event_id, r]));

describe('planBatch', () => {
  it('writes each append after its stream revision, and the next append of the stream after it', () => {
    const [a, b, c] = [serialized(), serialized(), serialized()];
    const state = streams({ 's-1': 2, 't-1': -1 });
    const plan = planBatch([pending('s-1', [a, b], 2), pending('t-1', [c], 'no_stream')], state, recorded());
    expect(plan.rows.stream).toEqual(['s-1', 's-1', 't-1']);
    expect(plan.rows.revision).toEqual([3, 4, 0]);
    expect(plan.outcomes).toEqual([
      { kind: 'row', row: 1 },
      { kind: 'row', row: 2 },
    ]);
    expect(state.get('s-1')).toEqual({ revision: 4, hash: null });
  });

  it('checks each append against the revision the appends before it in the batch left', () => {
    const state = streams({ 's-1': 0 });
    const plan = planBatch(
      [pending('s-1', [serialized()], 0), pending('s-1', [serialized()], 0), pending('s-1', [serialized()], 1)],
      state,
      recorded(),
    );
    expect(plan.outcomes[0]).toEqual({ kind: 'row', row: 0 });
    expect(plan.outcomes[1]).toMatchObject({ kind: 'fail', error: { constructor: WrongExpectedRevision, actual: 1 } });
    expect(plan.outcomes[2]).toEqual({ kind: 'row', row: 1 });
    expect(plan.rows.revision).toEqual([1, 2]);
  });

  it('refuses a wrong expected revision saying no_stream for a stream without events, and writes nothing for it', () => {
    const plan = planBatch([pending('s-1', [serialized()], 'stream_exists')], streams({ 's-1': -1 }), recorded());
    expect(plan.outcomes[0]).toMatchObject({ kind: 'fail', error: { actual: 'no_stream', expected: 'stream_exists' } });
    expect(plan.rows.id).toEqual([]);
  });

  it('answers a retry of events an earlier transaction recorded with their first result, writing nothing', () => {
    const [a, b] = [serialized(), serialized()];
    const plan = planBatch(
      [pending('s-1', [a, b], 'no_stream')],
      streams({ 's-1': 1 }),
      recorded(row(a, 's-1', 0, 7, 70), row(b, 's-1', 1, 7, 71)),
    );
    expect(plan.outcomes).toEqual([
      { kind: 'done', result: { nextExpectedRevision: 1, checkpoint: encodeCheckpoint(7n, 71n) } },
    ]);
    expect(plan.rows.id).toEqual([]);
  });

  it('answers a retry of events written earlier in the same batch with their row', () => {
    const a = serialized();
    const plan = planBatch(
      [pending('s-1', [a], 'no_stream'), pending('s-1', [a], 'no_stream')],
      streams({ 's-1': -1 }),
      recorded(),
    );
    expect(plan.outcomes).toEqual([
      { kind: 'row', row: 0 },
      { kind: 'row', row: 0 },
    ]);
    expect(plan.rows.id).toHaveLength(1);
  });

  it('matches event ids whatever their case', () => {
    const a = serialized(randomUUID().toUpperCase());
    const plan = planBatch([pending('s-1', [a], 'any')], streams({ 's-1': 0 }), recorded(row(a, 's-1', 0)));
    expect(plan.outcomes[0]).toMatchObject({ kind: 'done' });
    expect(plan.rows.id).toEqual([]);
  });

  it('refuses recorded events retried in another order as a duplicate event id', () => {
    const [a, b] = [serialized(), serialized()];
    const plan = planBatch(
      [pending('s-1', [b, a], 'no_stream')],
      streams({ 's-1': 1 }),
      recorded(row(a, 's-1', 0), row(b, 's-1', 1)),
    );
    expect(plan.outcomes[0]).toMatchObject({ kind: 'fail', error: { constructor: DuplicateEventId } });
  });

  it('refuses recorded events retried at another expected revision as a wrong expected revision', () => {
    const a = serialized();
    const plan = planBatch([pending('s-1', [a], 5)], streams({ 's-1': 3 }), recorded(row(a, 's-1', 0)));
    expect(plan.outcomes[0]).toMatchObject({ kind: 'fail', error: { constructor: WrongExpectedRevision, actual: 3 } });
  });

  it('refuses an event id recorded in another stream', () => {
    const a = serialized();
    const plan = planBatch([pending('t-1', [a], 'any')], streams({ 't-1': -1 }), recorded(row(a, 's-1', 0)));
    expect(plan.outcomes[0]).toMatchObject({ kind: 'fail', error: { constructor: DuplicateEventId, streamId: 't-1' } });
  });

  it("chains each written event to its stream's previous one, across the appends of a batch", () => {
    const [a, b, c] = prepareEvents([serialized(), serialized(), serialized()], () => []);
    const state = new Map<string, StreamState>([['s-1', { revision: 2, hash: 'f'.repeat(64) }]]);
    const plan = planBatch([pending('s-1', [a!, b!], 2), pending('s-1', [c!], 4)], state, new Map());
    const h3 = eventHash('s-1', 3, a!.chain!.content, 'f'.repeat(64));
    const h4 = eventHash('s-1', 4, b!.chain!.content, h3);
    expect(plan.rows.hash).toEqual([h3, h4, eventHash('s-1', 5, c!.chain!.content, h4)]);
    expect(state.get('s-1')).toEqual({ revision: 5, hash: plan.rows.hash[2] });
  });

  it('writes no hash for events prepared without one (bench:store comparison only)', () => {
    const plan = planBatch([pending('s-1', [serialized()], 'any')], streams({ 's-1': -1 }), new Map());
    expect(plan.rows.hash).toEqual([null]);
    expect(plan.rows.personal).toEqual([null]);
  });
});
