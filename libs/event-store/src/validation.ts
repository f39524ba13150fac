/**
 * Input checks every adapter applies before it writes anything, so a bad append fails
 * the same way on each store and nothing is half-written.
 */
import { InvalidAppend, InvalidArgument } from './errors.js';
import { isCheckpointInRange, type Checkpoint } from './checkpoint.js';
import type { ExpectedRevision, NewEvent, ReadChainOptions, ReadStreamOptions, StreamMetadata } from './types.js';

/** Documented limits (README "Limits"). */
export const LIMITS = {
  /** Serialized `data` plus `metadata` of one event. */
  maxEventBytes: 1024 * 1024,
  maxEventsPerAppend: 1000,
  maxAppendBytes: 16 * 1024 * 1024,
  maxStreamIdLength: 200,
  maxEventTypeLength: 100,
  maxReadCount: 10_000,
  maxSchemaVersion: 1_000_000,
  /** Retention by age: at most about a hundred years. */
  maxAgeSeconds: 100 * 365 * 24 * 3600,
  defaultReadCount: 1_000,
} as const;

/** `category-id`: letters, digits and `_ . : -`, starting with a letter or digit. */
const STREAM_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9_.]*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** `\u0000` preceded by an even number of backslashes: an escaped U+0000, not the text. */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;
const REQUIRED_METADATA = ['actorId', 'correlationId', 'causationId', 'occurredAt'] as const;

export function assertStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length > LIMITS.maxStreamIdLength || !STREAM_ID.test(streamId)) {
    throw new InvalidAppend(
      `invalid stream id ${JSON.stringify(String(streamId).slice(0, 64))}: 1-${LIMITS.maxStreamIdLength} ` +
        'characters of letters, digits and _ . : -, starting with a letter or digit',
    );
  }
}

export function assertExpectedRevision(expected: unknown): asserts expected is ExpectedRevision {
  const ok =
    expected === 'no_stream' ||
    expected === 'stream_exists' ||
    expected === 'any' ||
    (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0);
  if (!ok) {
    throw new InvalidAppend(
      `invalid expected revision ${JSON.stringify(expected)}: a revision >= 0, 'no_stream', 'stream_exists' or 'any'`,
    );
  }
}

/** Validated event with its JSON already serialized (adapters write these strings). */
export interface SerializedEvent {
  readonly event: NewEvent;
  readonly data: string;
  readonly metadata: string;
}

export function validateAppend(streamId: unknown, events: unknown, expectedRevision: unknown): SerializedEvent[] {
  assertStreamId(streamId);
  assertExpectedRevision(expectedRevision);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppend('an append needs at least one event');
  }
  if (events.length > LIMITS.maxEventsPerAppend) {
    throw new InvalidAppend(`an append takes at most ${LIMITS.maxEventsPerAppend} events, got ${events.length}`);
  }
  const ids = new Set<string>();
  let total = 0;
  const serialized = (events as unknown[]).map((candidate, index) => {
    const event = assertEvent(candidate, index);
    const key = event.eventId.toLowerCase();
    if (ids.has(key)) throw new InvalidAppend(`event id ${event.eventId} appears twice in one append`);
    ids.add(key);
    const data = serialize(event.data, `events[${index}].data`);
    const metadata = serialize(event.metadata, `events[${index}].metadata`);
    const bytes = Buffer.byteLength(data) + Buffer.byteLength(metadata);
    if (bytes > LIMITS.maxEventBytes) {
      throw new InvalidAppend(`events[${index}] is ${bytes} bytes; the limit is ${LIMITS.maxEventBytes}`);
    }
    total += bytes;
    return { event, data, metadata };
  });
  if (total > LIMITS.maxAppendBytes) {
    throw new InvalidAppend(`the append is ${total} bytes; the limit is ${LIMITS.maxAppendBytes}`);
  }
  return serialized;
}

function assertEvent(candidate: unknown, index: number): NewEvent {
  const at = `events[${index}]`;
  if (typeof candidate !== 'object' || candidate === null) throw new InvalidAppend(`${at} is not an object`);
  const e = candidate as Record<string, unknown>;
  if (typeof e.eventId !== 'string' || !UUID.test(e.eventId)) throw new InvalidAppend(`${at}.eventId must be a UUID`);
  if (typeof e.type !== 'string' || e.type.length > LIMITS.maxEventTypeLength || !EVENT_TYPE.test(e.type)) {
    throw new InvalidAppend(`${at}.type must be an identifier of at most ${LIMITS.maxEventTypeLength} characters`);
  }
  if (
    typeof e.schemaVersion !== 'number' ||
    !Number.isInteger(e.schemaVersion) ||
    e.schemaVersion < 1 ||
    e.schemaVersion > LIMITS.maxSchemaVersion
  ) {
    throw new InvalidAppend(`${at}.schemaVersion must be an integer from 1 to ${LIMITS.maxSchemaVersion}`);
  }
  if (e.data === undefined) throw new InvalidAppend(`${at}.data is missing`);
  const metadata = e.metadata;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidAppend(`${at}.metadata must be an object`);
  }
  for (const key of REQUIRED_METADATA) {
    const value = (metadata as Record<string, unknown>)[key];
    if (typeof value !== 'string' || value.length === 0)
      throw new InvalidAppend(`${at}.metadata.${key} must be a non-empty string`);
  }
  if (Number.isNaN(Date.parse((metadata as Record<string, string>).occurredAt ?? ''))) {
    throw new InvalidAppend(`${at}.metadata.occurredAt must be an ISO-8601 time`);
  }
  return e as unknown as NewEvent;
}

function serialize(value: unknown, at: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidAppend(`${at} is not serializable as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new InvalidAppend(`${at} is not serializable as JSON`);
  // PostgreSQL cannot store U+0000 in text; refuse it here rather than fail mid-write.
  // (JSON writes it as \u0000; the text "\u0000" itself is \\u0000 and is fine.)
  if (ESCAPED_NUL.test(json)) throw new InvalidAppend(`${at} contains a NUL character (U+0000)`);
  return json;
}

export function readLimit(limit: number | undefined): number {
  if (limit === undefined) return LIMITS.defaultReadCount;
  if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS.maxReadCount) {
    throw new InvalidArgument(`limit must be an integer from 1 to ${LIMITS.maxReadCount}`);
  }
  return limit;
}

/** A checkpoint given to a read: well formed, and within what the stores can hold. */
export function assertReadCheckpoint(value: unknown): asserts value is Checkpoint {
  if (!isCheckpointInRange(value)) {
    throw new InvalidArgument(`not a checkpoint: ${JSON.stringify(String(value).slice(0, 64))}`);
  }
}

export function assertReadStreamOptions(options: ReadStreamOptions): void {
  const { from } = options;
  if (from !== undefined && from !== 'start' && from !== 'end' && !(Number.isSafeInteger(from) && from >= 0)) {
    throw new InvalidArgument(`from must be a revision >= 0, 'start' or 'end'`);
  }
}

/** A chain read's options: a first revision >= 0 and a limit. */
export function readChainWindow(options: ReadChainOptions): { from: number; limit: number } {
  const from = options.from ?? 0;
  if (!(Number.isSafeInteger(from) && from >= 0)) throw new InvalidArgument('from must be a revision >= 0');
  return { from, limit: readLimit(options.limit) };
}

/** Retention settings within what the stores can hold. */
export function assertStreamMetadata(metadata: StreamMetadata): void {
  const bounds = {
    maxAgeSeconds: [1, LIMITS.maxAgeSeconds],
    maxCount: [1, Number.MAX_SAFE_INTEGER],
    truncateBefore: [0, Number.MAX_SAFE_INTEGER],
  } as const;
  for (const [key, [min, max]] of Object.entries(bounds)) {
    const value = metadata[key as keyof StreamMetadata];
    if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
      throw new InvalidArgument(`${key} must be an integer from ${min} to ${max}`);
    }
  }
}
