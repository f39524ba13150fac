/**
 * The auditors' reads of the log (ADR 032, ADR 050): the shapes every adapter answers
 * with, and the one implementation built on the port's own reads (`readStream`, `readAll`,
 * `headCheckpoint`), which EventStoreDB and the in-memory store use. PostgreSQL answers the
 * same reads with set-based keyset windows of its own (postgres/audit-log.ts): the export's
 * speed budget (issue 14: 100,000 events/s) needs PostgreSQL to build the lines itself.
 *
 * Built on the port, a read answers only what the store serves: a time range over the
 * whole log needs an index by recorded time (EventStoreDB has none: `$all` is ordered by
 * position only), and history the store no longer serves (a soft delete, retention) cannot
 * be read. Both are refused as UnsupportedRead naming why, never answered as "nothing".
 */
import { CREDENTIAL_FIELDS, REDACTED } from '@herald/events';
import { START, type Checkpoint } from './checkpoint.js';
import { StreamNotFound, UnsupportedRead } from './errors.js';
import type {
  AuditEvent,
  AuditLines,
  AuditLogQuery,
  AuditStreamPage,
  EventFilter,
  EventStore,
  RecordedEvent,
  StreamRevision,
} from './types.js';

/**
 * Events one read of the log takes at once: a window's memory (its lines, ~1.5 MB of JSON
 * text) whatever the log's size, and for PostgreSQL a statement's time.
 */
export const AUDIT_WINDOW = 2_000;

/**
 * A recorded time as PostgreSQL's audit lines write it: UTC, ISO 8601, the fraction's
 * trailing zeros left out (`…:02.12Z`, `…:02Z`).
 */
export const auditTime = (date: Date): string => date.toISOString().replace(/\.?0+Z$/, 'Z');

export function auditEventOf(event: RecordedEvent): AuditEvent {
  return {
    checkpoint: event.globalPosition,
    streamId: event.streamId,
    revision: event.streamRevision,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    recordedAt: auditTime(event.recordedAt),
    data: withoutCredentials(event.type, event.data),
    metadata: event.metadata,
  };
}

/** The data as auditors read it: each credential field (CREDENTIAL_FIELDS) it holds reads REDACTED, as on PostgreSQL. */
function withoutCredentials(type: string, data: unknown): unknown {
  const fields = CREDENTIAL_FIELDS[type];
  if (fields === undefined || typeof data !== 'object' || data === null) return data;
  const held = fields.filter((field) => field in data);
  return held.length === 0 ? data : { ...data, ...Object.fromEntries(held.map((field) => [field, REDACTED])) };
}

const lineOf = (event: RecordedEvent): string => `${JSON.stringify(auditEventOf(event))}\n`;

/** The history of `streamId` from revision `from` on that the store no longer serves, as a refusal. */
function notServed(streamId: string, from: StreamRevision, servedFrom: StreamRevision | null): UnsupportedRead {
  return new UnsupportedRead(
    servedFrom === null
      ? `The event store no longer serves the events of ${streamId} from revision ${from} on ` +
          '(the stream was deleted, or they are past its retention): they cannot be read here'
      : `The event store no longer serves revisions ${from} to ${servedFrom - 1} of ${streamId} ` +
          `(a soft delete or retention cut them); it serves from revision ${servedFrom}: read after ${servedFrom - 1}`,
  );
}

/**
 * Up to `limit` events of one stream from revision `from`, as the store serves them; a
 * stream with events there that the store does not serve (deleted, cut by retention) is
 * refused, a stream that never had any is an empty array.
 */
async function servedEvents(
  store: EventStore,
  streamId: string,
  from: StreamRevision,
  limit: number,
): Promise<RecordedEvent[]> {
  let events: RecordedEvent[];
  try {
    events = await store.readStream(streamId, { from, limit });
  } catch (error) {
    if (!(error instanceof StreamNotFound)) throw error;
    events = [];
  }
  const first = events[0];
  if (first !== undefined) {
    if (first.streamRevision > from) throw notServed(streamId, from, first.streamRevision);
    return events;
  }
  // Nothing served from there: a stream that has events there (its revision says so) hides them.
  if ((await store.getStreamInfo(streamId)).revision >= from) throw notServed(streamId, from, null);
  return [];
}

/** One stream's events after `afterRevision` (-1: from its start), a page at a time (`EventStore.readAuditStream`). */
export async function readAuditStreamFrom(
  store: EventStore,
  streamId: string,
  afterRevision: StreamRevision,
  limit: number,
): Promise<AuditStreamPage> {
  const events = await servedEvents(store, streamId, afterRevision + 1, limit + 1);
  const page = events.slice(0, limit).map(auditEventOf);
  return { events: page, nextCursor: events.length > limit ? page[page.length - 1]!.revision : null };
}

/**
 * The audit lines of the log through the port (`EventStore.auditLog`). What cannot be
 * answered is refused here, before any line: the caller has not started its answer yet.
 */
export async function auditLogFrom(
  store: EventStore,
  query: AuditLogQuery,
  count: (events: number) => void = () => undefined,
): Promise<AuditLines> {
  const timed = query.since !== undefined || query.until !== undefined;
  if (timed && query.after !== undefined) throw new RangeError('a time range cannot start after a checkpoint too');
  if (timed && query.streamId === undefined) {
    throw new UnsupportedRead(
      'A time range (since, until) over the whole log needs an index by recorded time, which this event store ' +
        '(EventStoreDB) does not have: its log is ordered by position only. Give a checkpoint range (after, upTo) ' +
        'instead, or narrow the time range to one conversation (conversation)',
    );
  }
  const head = await store.headCheckpoint();
  const upTo = query.upTo !== undefined && query.upTo < head ? query.upTo : head;
  const keep = (event: RecordedEvent): boolean =>
    event.globalPosition > (query.after ?? START) &&
    (query.actorId === undefined || event.metadata.actorId === query.actorId) &&
    (query.eventTypes === undefined || query.eventTypes.includes(event.type)) &&
    (query.streamPrefixes === undefined || query.streamPrefixes.some((p) => event.streamId.startsWith(p))) &&
    (query.since === undefined || event.recordedAt.getTime() >= query.since.getTime()) &&
    (query.until === undefined || event.recordedAt.getTime() < query.until.getTime());
  const chunk = (events: readonly RecordedEvent[]): string | undefined => {
    const hits = events.filter(keep);
    if (hits.length === 0) return undefined;
    count(hits.length);
    return hits.map(lineOf).join('');
  };
  if (query.streamId !== undefined) {
    const streamId = query.streamId;
    // The first window is read now, so a stream the store no longer serves is refused before any line.
    const first = await servedEvents(store, streamId, 0, AUDIT_WINDOW);
    return streamLines(store, streamId, first, upTo, chunk);
  }
  const filter: EventFilter = {
    ...(query.eventTypes ? { eventTypes: query.eventTypes } : {}),
    ...(query.streamPrefixes ? { streamPrefixes: query.streamPrefixes } : {}),
  };
  return logLines(store, query.after ?? START, upTo, filter, chunk);
}

/** A stream's windows by revision, up to the head checkpoint (a stream's positions grow with its revisions). */
async function* streamLines(
  store: EventStore,
  streamId: string,
  first: RecordedEvent[],
  upTo: Checkpoint,
  chunk: (events: readonly RecordedEvent[]) => string | undefined,
): AsyncGenerator<string> {
  let window = first;
  for (;;) {
    const final = window.filter((e) => e.globalPosition <= upTo);
    const lines = chunk(final);
    if (lines !== undefined) yield lines;
    if (final.length < window.length || window.length < AUDIT_WINDOW) return;
    window = await servedEvents(store, streamId, window[window.length - 1]!.streamRevision + 1, AUDIT_WINDOW);
  }
}

/** The log's windows in checkpoint order, filtered on the server where the store can (types, stream prefixes). */
async function* logLines(
  store: EventStore,
  after: Checkpoint,
  upTo: Checkpoint,
  filter: EventFilter,
  chunk: (events: readonly RecordedEvent[]) => string | undefined,
): AsyncGenerator<string> {
  let from = after;
  while (from < upTo) {
    const page = await store.readAll({ from, limit: AUDIT_WINDOW, filter });
    const final = page.events.filter((e) => e.globalPosition <= upTo);
    const lines = chunk(final);
    if (lines !== undefined) yield lines;
    // Nothing more to read: the page ended nowhere further (the log's end), or went past the head.
    if (page.checkpoint <= from || final.length < page.events.length) return;
    from = page.checkpoint;
  }
}
