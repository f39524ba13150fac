/**
 * The EventStoreDB adapter's translations, as plain functions a test calls without a
 * server: expected revisions both ways, positions and checkpoints, Herald's event envelope
 * in EventStoreDB's data and metadata, the port's filter as a server-side filter plus what
 * is left to check here, stream metadata ($maxAge, $maxCount, $tb) and the judgement of an
 * append the server answered without writing (an idempotent retry) or refused, and each
 * event's link in its stream's hash chain, carried in its metadata (ADR 030).
 * docs/adr/026-eventstoredb-adapter.md says why each rule is what it is.
 */
import { encodeCheckpoint, decodeCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import { DuplicateEventId, WrongExpectedRevision, type EventStoreError } from '../errors.js';
import { matches } from '../event-filter.js';
import type { PreparedEvent } from '../integrity/chain.js';
import { eventHash, type PersonalSalts } from '../integrity/event-hash.js';
import type {
  ChainedEvent,
  EventFilter,
  EventMetadata,
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
  StreamMetadata,
  StreamRevision,
} from '../types.js';

/** The client's names for the revision an append expects (`@eventstore/db-client` constants). */
export type EsdbExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;
export interface EsdbPosition {
  readonly commit: bigint;
  readonly prepare: bigint;
}

// ------------------------------------------------------------------ revisions

export function toEsdbExpectedRevision(expected: ExpectedRevision): EsdbExpectedRevision {
  return typeof expected === 'number' ? BigInt(expected) : expected;
}

/** The revision the server reports back, as the port says it (`no_stream` when the stream has no events). */
export function fromEsdbCurrentRevision(actual: bigint | string | undefined): StreamRevision | 'no_stream' {
  if (typeof actual === 'bigint') return Number(actual);
  // The server says `no_stream` for a stream that never had events; anything else it
  // could say (`any`, `stream_exists`) does not name a revision: the stream has none.
  return 'no_stream';
}

/** A revision (a bigint of the server's) as the port's number; revisions stay far below 2^53. */
export const toRevision = (revision: bigint): StreamRevision => Number(revision);

// ------------------------------------------------------------------ positions

/** Commit and prepare positions, in that order, so the checkpoint strings sort as $all does. */
export function positionToCheckpoint(position: EsdbPosition): Checkpoint {
  return encodeCheckpoint(position.commit, position.prepare);
}

/** START for the start of the log; otherwise the position the checkpoint was made from. */
export function checkpointToPosition(checkpoint: Checkpoint): EsdbPosition | 'start' {
  if (checkpoint === START) return 'start';
  const [commit, prepare] = decodeCheckpoint(checkpoint);
  return { commit, prepare };
}

/** Whether an event stands strictly after a checkpoint (reads from a position include it). */
export const isAfter = (position: EsdbPosition, checkpoint: Checkpoint): boolean =>
  positionToCheckpoint(position) > checkpoint;

// ------------------------------------------------------------------ events

/**
 * What Herald keeps in an event's EventStoreDB metadata. `$correlationId` and
 * `$causationId` are EventStoreDB's own names (its `$bc-` projections read them); the
 * schema version has no place of its own there; Herald's metadata is kept whole under
 * `herald`, so any key a caller adds round-trips and none collides with the server's.
 */
export interface EsdbEventMetadata {
  readonly $correlationId: string;
  readonly $causationId: string;
  readonly schemaVersion: number;
  readonly herald: EventMetadata;
  /** Its link in its stream's hash chain; absent on events written before the chain (and foreign ones). */
  readonly heraldChain?: EsdbChainFields;
}

/**
 * An event's link in its stream's hash chain, beside Herald's metadata (not in it: the hash
 * covers that metadata exactly as PostgreSQL stores it). `hash` is ADR 030's, the same
 * definition on every store; `previous` is the predecessor's hash, kept here because the
 * server's retention can stop serving the predecessor itself; `personal` the salts by JSON
 * Pointer.
 */
export interface EsdbChainFields {
  readonly hash: string;
  readonly previous: string | null;
  readonly personal: PersonalSalts | null;
}

/** A stream's newest revision (-1: none) and that event's hash (null: none, or written without). */
export interface ChainHead {
  readonly revision: StreamRevision;
  readonly hash: string | null;
}

export interface EsdbEventData {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EsdbEventMetadata;
}

export function toEsdbEvent(event: NewEvent, chain?: EsdbChainFields): EsdbEventData {
  return {
    id: event.eventId,
    type: event.type,
    data: event.data,
    metadata: {
      $correlationId: event.metadata.correlationId,
      $causationId: event.metadata.causationId,
      schemaVersion: event.schemaVersion,
      herald: event.metadata,
      ...(chain ? { heraldChain: chain } : {}),
    },
  };
}

/**
 * Events to append after `head`, each carrying its chain link: its hash over its content
 * (computed before, `prepareEvents`) and its predecessor's hash. Only valid written at
 * `head.revision + 1` onwards, which the append's expected revision makes the server check.
 */
export function toChainedEsdbEvents(
  streamId: string,
  prepared: readonly PreparedEvent[],
  head: ChainHead,
): EsdbEventData[] {
  let previous = head.hash;
  return prepared.map((e, i) => {
    const hash = eventHash(streamId, head.revision + 1 + i, e.chain!.content, previous);
    const chain: EsdbChainFields = {
      hash,
      previous,
      personal: e.chain!.personal === null ? null : (JSON.parse(e.chain!.personal) as PersonalSalts),
    };
    previous = hash;
    return toEsdbEvent(e.event, chain);
  });
}

/** The chain link an event's metadata carries (undefined: none). */
export function chainFieldsOf(event: Pick<EsdbRecordedEvent, 'metadata'>): EsdbChainFields | undefined {
  const chain = (event.metadata as Partial<EsdbEventMetadata> | undefined)?.heraldChain;
  return typeof chain === 'object' && chain !== null && typeof chain.hash === 'string' ? chain : undefined;
}

/**
 * An event as its chain link covers it. The client parsed the JSON the adapter wrote with
 * JSON.stringify; serializing it again gives that text back (key order kept, no whitespace),
 * which is the text PostgreSQL would hold for the same event. An event that is not Herald's
 * (another writer's) comes without a hash, which a verifier reports.
 */
export function toChainedEvent(event: EsdbRecordedEvent): ChainedEvent {
  const herald = isHeraldEvent(event);
  const metadata = event.metadata as EsdbEventMetadata;
  const chain = herald ? chainFieldsOf(event) : undefined;
  return {
    streamId: event.streamId,
    streamRevision: toRevision(event.revision),
    eventId: event.id,
    type: event.type,
    schemaVersion: herald ? metadata.schemaVersion : 0,
    data: JSON.stringify(event.data) ?? 'null',
    metadata: JSON.stringify(herald ? metadata.herald : event.metadata) ?? 'null',
    personal: chain?.personal ?? null,
    hash: chain?.hash ?? null,
    // Absent fields (a foreign event, or one written before the chain) record no predecessor.
    ...(chain ? { previous: chain.previous } : {}),
    globalPosition: positionToCheckpoint(event.position!),
  };
}

/** An event as the client reads it (the fields the adapter uses). */
export interface EsdbRecordedEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created: Date;
  readonly position?: EsdbPosition;
}

/** Whether an event was written by Herald (system events and foreign writers' are not). */
export function isHeraldEvent(event: Pick<EsdbRecordedEvent, 'metadata' | 'type'>): boolean {
  const metadata = event.metadata as Partial<EsdbEventMetadata> | undefined;
  return (
    !event.type.startsWith('$') &&
    typeof metadata === 'object' &&
    metadata !== null &&
    typeof metadata.schemaVersion === 'number' &&
    typeof metadata.herald === 'object' &&
    metadata.herald !== null
  );
}

export function fromEsdbEvent(event: EsdbRecordedEvent, position: EsdbPosition | undefined): RecordedEvent {
  const metadata = event.metadata as EsdbEventMetadata;
  const at = position ?? event.position;
  if (!at) throw new Error(`event ${event.id} of ${event.streamId} came without its position`);
  return {
    eventId: event.id,
    type: event.type,
    schemaVersion: metadata.schemaVersion,
    data: event.data,
    metadata: metadata.herald,
    streamId: event.streamId,
    streamRevision: toRevision(event.revision),
    globalPosition: positionToCheckpoint(at),
    recordedAt: event.created,
  };
}

// ------------------------------------------------------------------ filters

/** The server-side filter of a read or subscription of $all, in the client's terms. */
export type ServerFilter =
  | { readonly filterOn: 'streamName'; readonly prefixes: readonly string[] }
  | { readonly filterOn: 'eventType'; readonly regex: string };

export interface FilterPlan {
  /** What the server applies: never a system event ($-types), never a $-stream. */
  readonly server: ServerFilter;
  /** What is left to check on the events the server sends (null: nothing). */
  readonly client: EventFilter | null;
}

/** Herald's event types and stream ids never start with `$` (validation.ts): system events are excluded by either filter. */
export const EXCLUDE_SYSTEM_EVENTS = '^[^$]';

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * EventStoreDB filters on one thing, stream names or event types. Prefixes (a category:
 * the narrower of the two for Herald's readers) go to the server, types are then checked
 * here; types alone go to the server as an anchored regex; no filter is "no system events".
 */
export function planFilter(filter: EventFilter | undefined): FilterPlan {
  const prefixes = filter?.streamPrefixes;
  const types = filter?.eventTypes;
  if (prefixes) {
    return {
      server: { filterOn: 'streamName', prefixes: [...prefixes] },
      client: types ? { eventTypes: types } : null,
    };
  }
  if (types) {
    // No type at all: a regex that matches none (an empty alternation would match "").
    const regex = types.length === 0 ? '(?!)' : `^(?:${types.map(escapeRegex).join('|')})$`;
    return { server: { filterOn: 'eventType', regex }, client: null };
  }
  return { server: { filterOn: 'eventType', regex: EXCLUDE_SYSTEM_EVENTS }, client: null };
}

/** The part of the filter the server could not apply. */
export const passesClientFilter = (plan: FilterPlan, event: Pick<RecordedEvent, 'type' | 'streamId'>): boolean =>
  plan.client === null || matches(event, plan.client);

// ------------------------------------------------------------------ stream metadata

/** `$tb` of a soft-deleted stream is long.MaxValue, which JSON.parse reads as 2^63 rounded. */
const isDeletedMarker = (tb: unknown): boolean => typeof tb === 'number' && tb >= Number.MAX_SAFE_INTEGER;

/** Stream metadata as stored (EventStoreDB's `$` names, and the adapter's own keys). */
export interface EsdbStreamMetadata {
  readonly $maxAge?: number;
  readonly $maxCount?: number;
  readonly $tb?: number;
  /** The truncate-before the caller set; `$tb` can be larger (history cut by a soft delete). */
  readonly heraldTruncateBefore?: number;
  /** The first revision after the last soft delete: history before it stays cut. */
  readonly heraldCut?: number;
  /** Set when retention was written while the stream was deleted: its revision then. */
  readonly heraldDeletedAt?: number;
  readonly [key: string]: unknown;
}

export interface StreamMetadataState {
  readonly metadata: StreamMetadata;
  readonly deleted: boolean;
}

/**
 * The port's view of a stream's stored metadata. `lastRevision` is the stream's revision
 * (-1: none): a stream whose retention was set while deleted is deleted until written again.
 */
export function fromEsdbStreamMetadata(
  stored: EsdbStreamMetadata | undefined,
  lastRevision: StreamRevision,
): StreamMetadataState {
  const s = stored ?? {};
  return {
    deleted: isDeletedMarker(s.$tb) || (s.heraldDeletedAt !== undefined && s.heraldDeletedAt === lastRevision),
    metadata: {
      ...(typeof s.$maxAge === 'number' ? { maxAgeSeconds: s.$maxAge } : {}),
      ...(typeof s.$maxCount === 'number' ? { maxCount: s.$maxCount } : {}),
      ...(typeof s.heraldTruncateBefore === 'number' ? { truncateBefore: s.heraldTruncateBefore } : {}),
    },
  };
}

/**
 * The metadata to store for a caller's settings. Setting retention must not bring deleted
 * history back: EventStoreDB cuts a soft-deleted stream with `$tb` (long.MaxValue while
 * deleted, then the first revision after the delete once written again), and new metadata
 * without it would undo the cut. So the stored `$tb` is the larger of the caller's and the
 * cut, remembered as `heraldCut`. A stream still deleted (the marker) cannot keep the marker
 * (long.MaxValue has no exact JavaScript number to write back): its cut becomes
 * `lastRevision + 1` and `heraldDeletedAt` says it reads as deleted until the next append.
 */
export function toEsdbStreamMetadata(
  requested: StreamMetadata,
  current: EsdbStreamMetadata | undefined,
  lastRevision: StreamRevision,
): EsdbStreamMetadata {
  const c = current ?? {};
  const state = fromEsdbStreamMetadata(c, lastRevision);
  const tb = c.$tb;
  const cuts = [
    c.heraldCut ?? 0,
    state.deleted ? lastRevision + 1 : 0,
    typeof tb === 'number' && !isDeletedMarker(tb) && tb !== c.heraldTruncateBefore ? tb : 0,
  ];
  const cut = Math.max(...cuts);
  const effective = Math.max(requested.truncateBefore ?? 0, cut);
  return {
    ...(requested.maxAgeSeconds !== undefined ? { $maxAge: requested.maxAgeSeconds } : {}),
    ...(requested.maxCount !== undefined ? { $maxCount: requested.maxCount } : {}),
    ...(effective > 0 || requested.truncateBefore !== undefined ? { $tb: effective } : {}),
    ...(requested.truncateBefore !== undefined ? { heraldTruncateBefore: requested.truncateBefore } : {}),
    ...(cut > 0 ? { heraldCut: cut } : {}),
    ...(state.deleted ? { heraldDeletedAt: lastRevision } : {}),
  };
}

// ------------------------------------------------------------------ appends the server did not write

/** The events at the place the server named, as read back (ids and positions). */
export interface PlacedEvent {
  readonly eventId: string;
  readonly revision: StreamRevision;
  readonly checkpoint: Checkpoint;
}

/**
 * The server answered an append with success but no position: it recognised the events as
 * already written (its idempotency check) and wrote nothing. With `any` the server matches
 * ids in any order, so the adapter checks what it read back at the reported revisions: the
 * same ids in the same order is a retry (its result is the last one's place); anything else
 * is refused.
 */
export function judgeIdempotentAppend(
  streamId: string,
  events: readonly NewEvent[],
  readBack: readonly PlacedEvent[],
): PlacedEvent | EventStoreError {
  const same =
    readBack.length === events.length &&
    readBack.every((placed, i) => placed.eventId.toLowerCase() === events[i]!.eventId.toLowerCase());
  if (same) return readBack[readBack.length - 1]!;
  return new DuplicateEventId(events[0]!.eventId, streamId);
}

/**
 * An append with `any` or `stream_exists` names no place, so the adapter looks for its
 * events among the stream's newest (`recent`, read with the head): its first id there is a
 * retry when the rest follow it in order (answered with the last one's place), anything
 * else a duplicate; none of its ids there, undefined (a new append).
 */
export function judgeRecentRetry(
  streamId: string,
  events: readonly NewEvent[],
  recent: readonly PlacedEvent[],
): PlacedEvent | EventStoreError | undefined {
  const byId = new Map(recent.map((e) => [e.eventId.toLowerCase(), e]));
  const found = events.map((e) => byId.get(e.eventId.toLowerCase()));
  if (found.every((f) => f === undefined)) return undefined;
  const first = found[0];
  const inOrder = first !== undefined && found.every((f, i) => f !== undefined && f.revision === first.revision + i);
  if (inOrder) return found[found.length - 1]!;
  return new DuplicateEventId(events[found.findIndex((f) => f !== undefined)]!.eventId, streamId);
}

/** Where the expected revision puts an append's first event (null: no one place). */
export function expectedFirstRevision(expected: ExpectedRevision): StreamRevision | null {
  if (expected === 'no_stream') return 0;
  if (typeof expected === 'number') return expected + 1;
  return null;
}

/**
 * The server refused an append as WrongExpectedVersion. When some of its ids are recorded
 * at the place the expected revision names (read back by the adapter), the append is the
 * same events in another order or grouping: DuplicateEventId, as on PostgreSQL. Otherwise
 * it lost a race: WrongExpectedRevision with the revision the server reported.
 */
export function judgeRefusedAppend(
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  actual: StreamRevision | 'no_stream',
  atExpectedPlace: readonly PlacedEvent[],
): EventStoreError {
  const ids = new Set(atExpectedPlace.map((e) => e.eventId.toLowerCase()));
  const duplicate = events.find((e) => ids.has(e.eventId.toLowerCase()));
  if (duplicate) return new DuplicateEventId(duplicate.eventId, streamId);
  return new WrongExpectedRevision(streamId, expected, actual);
}
