/**
 * Typed errors of the event store port. Each has a stable `code`; the API's exception
 * filter maps codes to HTTP statuses, so no adapter ever speaks HTTP.
 */
import type { ExpectedRevision, StreamRevision } from './types.js';

/** Every code an event store error carries: a new error's code is added here, and the API's table must then map it. */
export type EventStoreErrorCode =
  | 'EVENT_STORE.WRONG_EXPECTED_REVISION'
  | 'EVENT_STORE.INVALID_APPEND'
  | 'EVENT_STORE.INVALID_ARGUMENT'
  | 'EVENT_STORE.DUPLICATE_EVENT_ID'
  | 'EVENT_STORE.STREAM_NOT_FOUND'
  | 'EVENT_STORE.UNAVAILABLE'
  | 'EVENT_STORE.UNSUPPORTED_READ';

export abstract class EventStoreError extends Error {
  abstract readonly code: EventStoreErrorCode;
}

/** The stream is not where the caller expected it: someone else appended first. */
export class WrongExpectedRevision extends EventStoreError {
  readonly code = 'EVENT_STORE.WRONG_EXPECTED_REVISION';
  override name = 'WrongExpectedRevision';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's revision now; `no_stream` when it has no events. */
    readonly actual: StreamRevision | 'no_stream',
  ) {
    super(`stream ${streamId}: expected revision ${String(expected)}, actual ${String(actual)}`);
  }
}

/** The append itself is malformed (empty, too large, bad ids); retrying will not help. */
export class InvalidAppend extends EventStoreError {
  readonly code = 'EVENT_STORE.INVALID_APPEND';
  override name = 'InvalidAppend';
}

/** An event id that is already recorded elsewhere (another stream or another place). */
/** A read or a setting with a bad argument (limit, position, retention value). */
export class InvalidArgument extends EventStoreError {
  readonly code = 'EVENT_STORE.INVALID_ARGUMENT';
  override name = 'InvalidArgument';
}

export class DuplicateEventId extends EventStoreError {
  readonly code = 'EVENT_STORE.DUPLICATE_EVENT_ID';
  override name = 'DuplicateEventId';
  constructor(
    readonly eventId: string,
    readonly streamId: string,
  ) {
    super(`event ${eventId} is already recorded in another place (appending to ${streamId})`);
  }
}

export class StreamNotFound extends EventStoreError {
  readonly code = 'EVENT_STORE.STREAM_NOT_FOUND';
  override name = 'StreamNotFound';
  constructor(readonly streamId: string) {
    super(`stream ${streamId} does not exist`);
  }
}

/** The store could not be reached or the connection was lost; the call may be retried. */
export class EventStoreUnavailable extends EventStoreError {
  readonly code = 'EVENT_STORE.UNAVAILABLE';
  override name = 'EventStoreUnavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A read this store cannot answer truthfully (an audit read of a time range without an
 * index by recorded time, or history the store no longer serves): refused naming why,
 * never answered with less than was asked for. Retrying will not help.
 */
export class UnsupportedRead extends EventStoreError {
  readonly code = 'EVENT_STORE.UNSUPPORTED_READ';
  override name = 'UnsupportedRead';
}
