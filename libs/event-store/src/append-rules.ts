/**
 * The rules of an append and a stream's retention that every adapter applies the same way:
 * whether an expected revision matches a stream, when events already recorded make an
 * append a retry (it succeeds with the first result) or a conflict, and which revisions a
 * stream read may return. Plain functions, so each adapter only finds the facts.
 */
import { DuplicateEventId, WrongExpectedRevision, type EventStoreError } from './errors.js';
import type { ExpectedRevision, ReadStreamOptions, StreamInfo, StreamRevision } from './types.js';
import type { SerializedEvent } from './validation.js';

/** Returns true when `expected` does not match a stream at `revision` (-1: no events). */
export function isWrongRevision(expected: ExpectedRevision, revision: StreamRevision): boolean {
  switch (expected) {
    case 'any':
      return false;
    case 'no_stream':
      return revision !== -1;
    case 'stream_exists':
      return revision < 0;
    default:
      return revision !== expected;
  }
}

export function wrongRevision(
  streamId: string,
  expected: ExpectedRevision,
  revision: StreamRevision,
): WrongExpectedRevision {
  return new WrongExpectedRevision(streamId, expected, revision < 0 ? 'no_stream' : revision);
}

/** Where an event id of an append is recorded already. */
export interface RecordedPlace {
  readonly streamId: string;
  readonly revision: StreamRevision;
}

/**
 * An append some of whose event ids are recorded already (`found`, one entry per event).
 * The same events at the same place, where the expected revision puts them, are a retry:
 * returns the last one's place, whose result the append gets. Otherwise the error to refuse
 * it with: the events are in place but the expectation does not hold, or they are elsewhere.
 */
export function judgeRetry<Place extends RecordedPlace>(
  streamId: string,
  expected: ExpectedRevision,
  events: readonly SerializedEvent[],
  found: readonly (Place | undefined)[],
  currentRevision: StreamRevision,
): Place | EventStoreError {
  const first = found[0];
  const firstRevision = first ? first.revision : -1;
  const inPlace =
    first !== undefined &&
    found.every((f, i) => f !== undefined && f.streamId === streamId && f.revision === firstRevision + i);
  const atExpected =
    expected === 'any' || expected === 'stream_exists'
      ? true
      : expected === 'no_stream'
        ? firstRevision === 0
        : firstRevision === expected + 1;
  if (inPlace && atExpected) return found[found.length - 1]!;
  if (inPlace) return wrongRevision(streamId, expected, currentRevision);
  const index = found.findIndex((f) => f !== undefined);
  return new DuplicateEventId(events[index]!.event.eventId, streamId);
}

/** A stream's state as a read needs it: its info, and where a soft delete cut its history. */
export interface StreamState extends StreamInfo {
  readonly deletedBefore: StreamRevision;
}

/** Which revisions a stream read covers: from `from`, never before `oldestKept`. */
export interface ReadWindow {
  readonly backwards: boolean;
  readonly from: StreamRevision;
  readonly oldestKept: StreamRevision;
}

/** The window of a read of a stream that exists, after its retention rules and a soft delete. */
export function readWindow(state: StreamState, options: ReadStreamOptions): ReadWindow {
  const backwards = options.direction === 'backwards';
  const { maxCount, truncateBefore } = state.metadata;
  const oldestKept = Math.max(
    state.deletedBefore,
    truncateBefore ?? 0,
    maxCount === undefined ? 0 : state.revision - maxCount + 1,
  );
  const from =
    options.from === undefined || options.from === (backwards ? 'end' : 'start')
      ? backwards
        ? state.revision
        : oldestKept
      : options.from === 'start'
        ? 0
        : options.from === 'end'
          ? state.revision
          : options.from;
  return { backwards, from, oldestKept };
}
