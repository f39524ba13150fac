import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWrongRevision, judgeRetry, readWindow, type StreamState } from './append-rules.js';
import { DuplicateEventId, WrongExpectedRevision } from './errors.js';
import type { SerializedEvent } from './validation.js';

describe('isWrongRevision', () => {
  it('accepts any revision for any', () => {
    expect([-1, 0, 7].map((r) => isWrongRevision('any', r))).toEqual([false, false, false]);
  });

  it('accepts only a stream without events for no_stream', () => {
    expect([-1, 0, 7].map((r) => isWrongRevision('no_stream', r))).toEqual([false, true, true]);
  });

  it('accepts only a stream with events for stream_exists', () => {
    expect([-1, 0, 7].map((r) => isWrongRevision('stream_exists', r))).toEqual([true, false, false]);
  });

  it('accepts only that exact revision for a number', () => {
    expect([-1, 0, 7].map((r) => isWrongRevision(0, r))).toEqual([true, false, true]);
  });
});

describe('judgeRetry', () => {
  const events = (n: number): SerializedEvent[] =>
    Array.from({ length: n }, () => ({
      event: {
        eventId: randomUUID(),
        type: 'A',
        schemaVersion: 1,
        data: {},
        metadata: { actorId: 'a', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
      },
      data: '{}',
      metadata: '{}',
    }));
  const at = (revision: number, streamId = 's-1'): { streamId: string; revision: number } => ({ streamId, revision });

  it('answers the same events at the place the expected revision gives with the last one', () => {
    const found = [at(3), at(4)];
    expect(judgeRetry('s-1', 2, events(2), found, 9)).toBe(found[1]);
    expect(judgeRetry('s-1', 'any', events(2), found, 9)).toBe(found[1]);
    expect(judgeRetry('s-1', 'stream_exists', events(2), found, 9)).toBe(found[1]);
  });

  it('answers a leading part of an append, recorded at its place, as a retry', () => {
    expect(judgeRetry('s-1', 'no_stream', events(1), [at(0)], 1)).toEqual(at(0));
  });

  it('refuses events in place but at another expected revision, saying the revision now', () => {
    const error = judgeRetry('s-1', 5, events(1), [at(0)], 3);
    expect(error).toBeInstanceOf(WrongExpectedRevision);
    expect(error).toMatchObject({ expected: 5, actual: 3 });
  });

  it('refuses events recorded in another order as a duplicate of the first one found', () => {
    const appended = events(2);
    const error = judgeRetry('s-1', 'any', appended, [at(1), at(0)], 1);
    expect(error).toBeInstanceOf(DuplicateEventId);
    expect(error).toMatchObject({ eventId: appended[0]!.event.eventId });
  });

  it('refuses an append of which only some events are recorded', () => {
    const appended = events(2);
    expect(judgeRetry('s-1', 'any', appended, [undefined, at(0)], 0)).toMatchObject({
      constructor: DuplicateEventId,
      eventId: appended[1]!.event.eventId,
    });
  });

  it('refuses events recorded in another stream', () => {
    expect(judgeRetry('s-2', 'any', events(1), [at(0, 's-1')], -1)).toBeInstanceOf(DuplicateEventId);
  });
});

describe('readWindow', () => {
  const state = (revision: number, more: Partial<StreamState> = {}): StreamState => ({
    revision,
    deleted: false,
    metadata: {},
    deletedBefore: 0,
    ...more,
  });

  it('reads forwards from the start and backwards from the end by default', () => {
    expect(readWindow(state(9), {})).toEqual({ backwards: false, from: 0, oldestKept: 0 });
    expect(readWindow(state(9), { direction: 'backwards' })).toEqual({ backwards: true, from: 9, oldestKept: 0 });
  });

  it('starts from the oldest event kept when reading forwards from the start', () => {
    expect(readWindow(state(9, { metadata: { truncateBefore: 4 } }), { from: 'start' }).from).toBe(4);
  });

  it('keeps the last maxCount events', () => {
    expect(readWindow(state(9, { metadata: { maxCount: 2 } }), {}).oldestKept).toBe(8);
  });

  it('keeps the strictest of truncateBefore, maxCount and a soft delete', () => {
    const metadata = { truncateBefore: 3, maxCount: 8 };
    expect(readWindow(state(9, { metadata, deletedBefore: 5 }), {}).oldestKept).toBe(5);
    expect(readWindow(state(9, { metadata }), {}).oldestKept).toBe(3);
  });

  it('takes an explicit revision, start or end either way', () => {
    expect(readWindow(state(9), { from: 4, direction: 'backwards' }).from).toBe(4);
    expect(readWindow(state(9), { from: 'start', direction: 'backwards' }).from).toBe(0);
    expect(readWindow(state(9), { from: 'end' }).from).toBe(9);
  });
});
