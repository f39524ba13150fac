/**
 * The event store port: what every adapter (PostgreSQL, EventStoreDB) promises.
 * ARCHITECTURE.md "Event store contract" is the specification; the contract test suite
 * (`event-store.contract.ts`) is its executable form.
 */
import type { Checkpoint } from './checkpoint.js';
import type { PersonalSalts } from './integrity/event-hash.js';

/** A stream's revision: the 0-based index of its last event. A conversation's seq. */
export type StreamRevision = number;

export type ExpectedRevision = StreamRevision | 'no_stream' | 'stream_exists' | 'any';

/** Who, when and why. Adapters store it verbatim; extra keys are kept. */
export interface EventMetadata {
  readonly actorId: string;
  readonly correlationId: string;
  readonly causationId: string;
  /** ISO-8601 time the command was decided (the domain's clock, not the store's). */
  readonly occurredAt: string;
  readonly clientMessageId?: string;
  readonly traceparent?: string;
  readonly [key: string]: unknown;
}

export interface NewEvent<Type extends string = string, Data = unknown> {
  readonly eventId: string;
  readonly type: Type;
  readonly schemaVersion: number;
  readonly data: Data;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> extends NewEvent<Type, Data> {
  readonly streamId: string;
  readonly streamRevision: StreamRevision;
  /** Where the event stands in the global log; opaque and sortable. */
  readonly globalPosition: Checkpoint;
  readonly recordedAt: Date;
}

export interface AppendResult {
  /** Revision of the last event appended: the value to pass as the next expected revision. */
  readonly nextExpectedRevision: StreamRevision;
  /** Global position of the last event appended: wait for a follower to reach it to read your writes. */
  readonly checkpoint: Checkpoint;
}

export interface ReadStreamOptions {
  /** First revision to read (inclusive); default: the start going forwards, the end going backwards. */
  readonly from?: StreamRevision | 'start' | 'end';
  readonly direction?: 'forwards' | 'backwards';
  /** At most this many events; default and cap in `LIMITS.maxReadCount`. */
  readonly limit?: number;
}

export interface EventFilter {
  /** Only these event types. */
  readonly eventTypes?: readonly string[];
  /** Only streams whose id starts with one of these (e.g. `conversation-`). */
  readonly streamPrefixes?: readonly string[];
}

export interface ReadAllOptions {
  /** Read events strictly after this checkpoint; default the start of the log. */
  readonly from?: Checkpoint;
  readonly limit?: number;
  readonly filter?: EventFilter;
}

export interface ReadAllPage {
  readonly events: readonly RecordedEvent[];
  /**
   * Where to continue from. It can be past the last event returned: events the filter
   * skipped are behind it too, so a filtered reader does not rescan them.
   */
  readonly checkpoint: Checkpoint;
}

export interface SubscribeOptions extends ReadAllOptions {
  /** Ends the subscription; the iterator then returns. */
  readonly signal?: AbortSignal;
}

/** Retention rules for a stream; events outside them are no longer read from the stream. */
export interface StreamMetadata {
  readonly maxAgeSeconds?: number;
  readonly maxCount?: number;
  /** Events before this revision are no longer read. */
  readonly truncateBefore?: StreamRevision;
}

export interface StreamInfo {
  /** -1 when the stream has no events. */
  readonly revision: StreamRevision;
  readonly deleted: boolean;
  readonly metadata: StreamMetadata;
}

/**
 * An event as its stream's hash chain covers it (ADR 030): what its hash was computed over,
 * as stored, and the hash. Every adapter stores the same fields, so a verifier needs no
 * knowledge of the store (`integrity/verify-chain.ts`).
 */
export interface ChainedEvent {
  readonly streamId: string;
  readonly streamRevision: StreamRevision;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  /** The data's JSON text as the hash covers it. */
  readonly data: string;
  /** Herald's metadata (`RecordedEvent.metadata`) as JSON text, as the hash covers it. */
  readonly metadata: string;
  readonly personal: PersonalSalts | null;
  /** The chained hash (hex); null when the event was written without one. */
  readonly hash: string | null;
  /**
   * The predecessor's hash as the event itself records it, where the store keeps it with
   * the event (EventStoreDB: its retention can stop serving the predecessor); undefined where
   * the predecessor is always stored beside it (PostgreSQL, in memory).
   */
  readonly previous?: string | null;
  readonly globalPosition: Checkpoint;
}

export interface ReadChainOptions {
  /** First revision to read (inclusive); default 0. */
  readonly from?: StreamRevision;
  /** At most this many events; default and cap in `LIMITS.maxReadCount`. */
  readonly limit?: number;
}

/** The auditors' reads (ADR 032, ADR 050; `audit-log.ts`). */
export interface AuditLogQuery {
  /** Events after this checkpoint (exclusive); default the start of the log. */
  readonly after?: Checkpoint;
  /** Events up to this checkpoint (inclusive); default (and at most) the head when the read begins. */
  readonly upTo?: Checkpoint;
  /** Events recorded at or after this time; with `until`, the log is read in recorded order. */
  readonly since?: Date;
  /** Events recorded before this time. */
  readonly until?: Date;
  readonly eventTypes?: readonly string[];
  /** Stream id prefixes, e.g. `conversation-`. */
  readonly streamPrefixes?: readonly string[];
  /** Only events whose metadata names this actor. */
  readonly actorId?: string;
  /** Only this stream (a conversation's): read by the stream's own index. */
  readonly streamId?: string;
}

/** An event as an auditor reads it: where it stands, when it was recorded, and all it holds. */
export interface AuditEvent {
  readonly checkpoint: Checkpoint;
  readonly streamId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly recordedAt: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown>;
}

export interface AuditStreamPage {
  readonly events: AuditEvent[];
  /** The revision to read the next page after; null on the last page. */
  readonly nextCursor: number | null;
}

/**
 * The NDJSON lines of an audit read of the log, one chunk of lines per window, pulled by
 * the caller (backpressure). `count` is told how many events each chunk held.
 */
export type AuditLines = AsyncIterable<string>;

export interface EventStore {
  /**
   * Atomic per call. Idempotent by event id, as EventStoreDB: when the events (or a
   * leading part of them) are already recorded in this stream, in this order, where the
   * expected revision puts them, the call succeeds with their position and writes
   * nothing. Ids recorded at the place a revision or `no_stream` names, in another order
   * or grouping, are refused (DuplicateEventId); a revision that does not match is
   * WrongExpectedRevision. With `any` or `stream_exists` a retry is recognised as long as
   * the store remembers the ids (PostgreSQL always, EventStoreDB while at most 32 events
   * were appended after them): an append that must be safe to retry names a revision. Whether
   * an id recorded in another stream is refused is the adapter's (PostgreSQL: yes;
   * EventStoreDB: no): Herald gives every event a fresh random id, so only a bug repeats one
   * (docs/adr/026-eventstoredb-adapter.md). Every event is written with its link in its
   * stream's hash chain (ADR 030), computed under the same check of the stream's revision
   * as the append, so concurrent appenders never fork a chain and a retry writes no link.
   */
  append(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
  /** Events of one stream that its retention rules keep; throws StreamNotFound for a missing or deleted stream. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * One stream's events with their hash-chain fields, forwards by revision: every event the
   * store still holds, deleted or past retention included (PostgreSQL, in memory), or, on
   * EventStoreDB, every event the server still serves from the stream (its retention and
   * soft delete stop serving a leading part). An empty array for a stream with none.
   */
  readChain(streamId: string, options?: ReadChainOptions): Promise<ChainedEvent[]>;
  /** A page of the global log, in checkpoint order, with no gaps: a later call never returns an event before the page's checkpoint. */
  readAll(options?: ReadAllOptions): Promise<ReadAllPage>;
  /**
   * Follows the global log from a checkpoint: catches up in pages, then waits for new
   * events. Yields pages in checkpoint order, each event exactly once; a page may be
   * empty when only the checkpoint advanced (events the filter skipped).
   */
  subscribeToAll(options?: SubscribeOptions): AsyncIterable<ReadAllPage>;
  getStreamInfo(streamId: string): Promise<StreamInfo>;
  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void>;
  /** Soft delete: the stream reads as missing; appending again revives it after its old revision. */
  deleteStream(streamId: string, expectedRevision?: ExpectedRevision): Promise<void>;
  /** The checkpoint of the newest event a subscriber can see now (START when empty). */
  headCheckpoint(): Promise<Checkpoint>;
  /** How many events lie after a checkpoint, counting at most `max`. */
  countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number>;
  /**
   * For auditors: one stream's events after `afterRevision` (-1: from its start), raw (as
   * stored, not upcast), with their place and recorded time; an empty page for a stream that
   * never had events. PostgreSQL reads every stored event, deleted and past retention
   * included; a store that no longer serves some (EventStoreDB: soft delete, retention)
   * refuses the page with UnsupportedRead naming the revisions, never answers it short.
   */
  readAuditStream(streamId: string, afterRevision: StreamRevision, limit: number): Promise<AuditStreamPage>;
  /**
   * For auditors and `herald export`: the log, or the part the query selects, as NDJSON lines
   * of AuditEvent, in checkpoint order (a time range: recorded order; one stream: revision
   * order), up to the head when the call is made. Everything that can be refused
   * (UnsupportedRead: a time range over the whole log on a store without a time index,
   * history no longer served) is refused by the call itself, before any line; the lines are
   * read a window at a time as the caller pulls them. `count` is told each chunk's events.
   */
  auditLog(query: AuditLogQuery, count?: (events: number) => void): Promise<AuditLines>;
  close(): Promise<void>;
}
