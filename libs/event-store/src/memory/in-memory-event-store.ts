/**
 * An EventStore held in memory, for fast unit tests of the code above the port (command
 * handlers, followers), as Emmett and Marten ship one. It passes the same contract suite as
 * the PostgreSQL adapter and applies the same rules (validation.ts, append-rules.ts). It is
 * never the default in any app: nothing survives the process, and it knows nothing of
 * transactions committing out of order, which is the hard part of a real log.
 *
 * `connect` gives another instance on the same events, as a second process on one database.
 * An append commits at once, after `beforeCommit`: appends to a log are serialized, so the
 * global order is the commit order and a subscriber never waits behind a writer. Events
 * carry the same hash chain as on PostgreSQL (ADR 030), so the contract suite proves it here too.
 */
import { isWrongRevision, judgeRetry, readWindow, wrongRevision, type RecordedPlace } from '../append-rules.js';
import { decodeCheckpoint, encodeCheckpoint, maxCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import { EventStoreUnavailable, StreamNotFound } from '../errors.js';
import { matches } from '../event-filter.js';
import { cataloguePersonalFields } from '../integrity/catalogue-personal.js';
import { prepareEvents, type PersonalFields } from '../integrity/chain.js';
import { eventHash, type PersonalSalts } from '../integrity/event-hash.js';
import { auditLogFrom, readAuditStreamFrom } from '../audit-log.js';
import type {
  AppendResult,
  AuditLines,
  AuditLogQuery,
  AuditStreamPage,
  ChainedEvent,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  ReadChainOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamInfo,
  StreamMetadata,
  StreamRevision,
  SubscribeOptions,
} from '../types.js';
import {
  assertExpectedRevision,
  assertReadCheckpoint,
  assertReadStreamOptions,
  assertStreamId,
  assertStreamMetadata,
  readChainWindow,
  readLimit,
  validateAppend,
} from '../validation.js';

/** An event as recorded: its JSON kept as written, so every read gets objects of its own. */
interface StoredEvent extends RecordedPlace {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  data: string;
  metadata: string;
  readonly position: Checkpoint;
  readonly recordedMs: number;
  readonly hash: string;
  readonly personal: PersonalSalts | null;
}

interface StoredStream {
  /** By revision. */
  readonly events: StoredEvent[];
  deleted: boolean;
  /** Where a soft delete cut its history. */
  deletedBefore: number;
  metadata: StreamMetadata;
}

/** The events of one or more in-memory store instances: what a database is to processes. */
class Log {
  /** In global order: the event at index i has position i + 1. */
  readonly events: StoredEvent[] = [];
  readonly streams = new Map<string, StoredStream>();
  /** Events by their id in lower case (ids are UUIDs, compared as such). */
  readonly byId = new Map<string, StoredEvent>();
  /** Counts commits, so a subscriber can tell whether one came since it last read. */
  generation = 0;
  private readonly waiters = new Set<() => void>();

  /** Resolves at the first commit after `since` (at once if one came already), at `wake`, or when `signal` aborts. */
  nextCommit(since: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.generation !== since || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  /** Wakes every waiting subscriber (after a commit, or when a store closes). */
  wake(): void {
    for (const done of [...this.waiters]) done();
  }
}

export interface InMemoryEventStoreOptions {
  /** Called before each append commits; throwing fails it and writes nothing. For fault-injection tests. */
  readonly beforeCommit?: () => Promise<void>;
  /** The personal fields of each event type (default: the catalogue's), as PostgresEventStore's option. */
  readonly personalFields?: PersonalFields;
}

export class InMemoryEventStore implements EventStore {
  private closed = false;

  constructor(
    private readonly options: InMemoryEventStoreOptions = {},
    private readonly log = new Log(),
  ) {}

  /** Another instance on the same events, as a second process on the same database. */
  connect(options: InMemoryEventStoreOptions = {}): InMemoryEventStore {
    return new InMemoryEventStore(options, this.log);
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    const serialized = prepareEvents(
      validateAppend(streamId, events, expectedRevision),
      this.options.personalFields ?? cataloguePersonalFields,
    );
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
    await this.options.beforeCommit?.();
    const { log } = this;
    const stream = this.stream(streamId);
    const revision = stream.events.length - 1;
    const ids = serialized.map((e) => e.event.eventId.toLowerCase());
    const found = ids.map((id) => log.byId.get(id));
    if (found.some((f) => f !== undefined)) {
      const retry = judgeRetry(streamId, expectedRevision, serialized, found, revision);
      if (retry instanceof Error) throw retry;
      return { nextExpectedRevision: retry.revision, checkpoint: retry.position };
    }
    if (isWrongRevision(expectedRevision, revision)) throw wrongRevision(streamId, expectedRevision, revision);
    const recordedMs = Date.now();
    let last: StoredEvent | undefined;
    let previous = stream.events.at(-1)?.hash ?? null;
    for (const [i, e] of serialized.entries()) {
      previous = eventHash(streamId, revision + 1 + i, e.chain!.content, previous);
      last = {
        eventId: ids[i]!,
        type: e.event.type,
        schemaVersion: e.event.schemaVersion,
        data: e.data,
        metadata: e.metadata,
        streamId,
        revision: revision + 1 + i,
        position: encodeCheckpoint(BigInt(log.events.length + 1), 0n),
        recordedMs,
        hash: previous,
        personal: e.chain!.personal === null ? null : (JSON.parse(e.chain!.personal) as PersonalSalts),
      };
      log.events.push(last);
      log.byId.set(last.eventId, last);
      stream.events.push(last);
    }
    // Appending revives a soft-deleted stream; its deleted history stays hidden.
    stream.deleted = false;
    log.generation++;
    log.wake();
    return { nextExpectedRevision: last!.revision, checkpoint: last!.position };
  }

  readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return answer(() => {
      assertStreamId(streamId);
      assertReadStreamOptions(options);
      const limit = readLimit(options.limit);
      this.assertOpen();
      const stream = this.log.streams.get(streamId);
      const revision = (stream?.events.length ?? 0) - 1;
      if (!stream || stream.deleted || revision < 0) throw new StreamNotFound(streamId);
      const { backwards, from, oldestKept } = readWindow(
        { revision, deleted: false, metadata: stream.metadata, deletedBefore: stream.deletedBefore },
        options,
      );
      const { maxAgeSeconds } = stream.metadata;
      const notBefore = maxAgeSeconds === undefined ? -Infinity : Date.now() - maxAgeSeconds * 1000;
      const read: RecordedEvent[] = [];
      const step = backwards ? -1 : 1;
      for (
        let r = backwards ? Math.min(from, revision) : Math.max(from, oldestKept);
        r >= oldestKept && r <= revision && read.length < limit;
        r += step
      ) {
        const event = stream.events[r]!;
        if (event.recordedMs > notBefore) read.push(toRecordedEvent(event));
      }
      return read;
    });
  }

  /** Every event of the stream as stored, retention and soft delete aside (they hide events from reads only). */
  readChain(streamId: string, options: ReadChainOptions = {}): Promise<ChainedEvent[]> {
    return answer(() => {
      assertStreamId(streamId);
      const { from, limit } = readChainWindow(options);
      this.assertOpen();
      return (this.log.streams.get(streamId)?.events ?? []).slice(from, from + limit).map((e) => ({
        streamId: e.streamId,
        streamRevision: e.revision,
        eventId: e.eventId,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
        personal: e.personal,
        hash: e.hash,
        globalPosition: e.position,
      }));
    });
  }

  /**
   * For tamper-evidence tests: rewrites a stored event's data or metadata as someone with
   * access to the storage would, behind the store's back (its hash is left as it was).
   */
  rewriteStoredEvent(
    streamId: string,
    revision: number,
    rewrite: (stored: { data: unknown; metadata: unknown }) => { data: unknown; metadata: unknown },
  ): void {
    const event = this.log.streams.get(streamId)?.events[revision];
    if (!event) throw new StreamNotFound(streamId);
    const next = rewrite({ data: JSON.parse(event.data), metadata: JSON.parse(event.metadata) });
    event.data = JSON.stringify(next.data);
    event.metadata = JSON.stringify(next.metadata);
  }

  getStreamInfo(streamId: string): Promise<StreamInfo> {
    return answer(() => {
      assertStreamId(streamId);
      this.assertOpen();
      const stream = this.log.streams.get(streamId);
      return {
        revision: (stream?.events.length ?? 0) - 1,
        deleted: stream?.deleted ?? false,
        metadata: { ...stream?.metadata },
      };
    });
  }

  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    return answer(() => {
      assertStreamId(streamId);
      assertStreamMetadata(metadata);
      this.assertOpen();
      const { maxAgeSeconds, maxCount, truncateBefore } = metadata;
      this.stream(streamId).metadata = {
        ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
        ...(maxCount === undefined ? {} : { maxCount }),
        ...(truncateBefore === undefined ? {} : { truncateBefore }),
      };
    });
  }

  deleteStream(streamId: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    return answer(() => {
      assertStreamId(streamId);
      assertExpectedRevision(expectedRevision);
      this.assertOpen();
      const stream = this.log.streams.get(streamId);
      const revision = !stream || stream.deleted ? -1 : stream.events.length - 1;
      if (isWrongRevision(expectedRevision, revision)) throw wrongRevision(streamId, expectedRevision, revision);
      if (!stream || revision < 0) throw new StreamNotFound(streamId);
      stream.deleted = true;
      stream.deletedBefore = revision + 1;
    });
  }

  readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    return answer(() => {
      const from = options.from ?? START;
      assertReadCheckpoint(from);
      const limit = readLimit(options.limit);
      this.assertOpen();
      return this.page(from, limit, options);
    });
  }

  async *subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<ReadAllPage> {
    const limit = readLimit(options.limit);
    const { signal } = options;
    let from = options.from ?? START;
    assertReadCheckpoint(from);
    while (!signal?.aborted && !this.closed) {
      const seen = this.log.generation;
      const page = this.page(from, limit, options);
      if (page.events.length > 0 || page.checkpoint !== from) {
        from = page.checkpoint;
        yield page;
      }
      if (page.events.length < limit) await this.log.nextCommit(seen, signal);
    }
  }

  headCheckpoint(): Promise<Checkpoint> {
    return answer(() => {
      this.assertOpen();
      return this.log.events.at(-1)?.position ?? START;
    });
  }

  countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    return answer(() => {
      assertReadCheckpoint(checkpoint);
      this.assertOpen();
      return Math.min(this.log.events.length - this.firstAfter(checkpoint), max);
    });
  }

  /** Through this port's own reads (audit-log.ts): what the store serves, refused where it cannot answer. */
  readAuditStream(streamId: string, afterRevision: StreamRevision, limit: number): Promise<AuditStreamPage> {
    return readAuditStreamFrom(this, streamId, afterRevision, limit);
  }

  auditLog(query: AuditLogQuery, count?: (events: number) => void): Promise<AuditLines> {
    return auditLogFrom(this, query, count);
  }

  close(): Promise<void> {
    this.closed = true;
    this.log.wake();
    return Promise.resolve();
  }

  /**
   * The events after `from` that pass the filter, at most `limit`; the checkpoint is past
   * the events the filter skipped, up to the head of the log.
   */
  private page(from: Checkpoint, limit: number, { filter }: ReadAllOptions): ReadAllPage {
    const { events: log } = this.log;
    const events: RecordedEvent[] = [];
    for (let i = this.firstAfter(from); i < log.length; i++) {
      const event = log[i]!;
      if (!matches(event, filter)) continue;
      events.push(toRecordedEvent(event));
      if (events.length === limit) return { events, checkpoint: event.position };
    }
    const head = log.at(-1)?.position ?? START;
    return { events, checkpoint: maxCheckpoint(from, head) };
  }

  /** The index of the first event after `from` (the event at index i has position i + 1). */
  private firstAfter(from: Checkpoint): number {
    const [major] = decodeCheckpoint(from);
    const { length } = this.log.events;
    return major >= BigInt(length) ? length : Number(major);
  }

  private stream(streamId: string): StoredStream {
    let stream = this.log.streams.get(streamId);
    if (!stream) {
      stream = { events: [], deleted: false, deletedBefore: 0, metadata: {} };
      this.log.streams.set(streamId, stream);
    }
    return stream;
  }

  /** Refuses reads once closed, as a store whose connections are gone. */
  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
  }
}

/** Runs a synchronous read as the port's methods answer: by a promise, a refusal being a rejection. */
function answer<T>(work: () => T): Promise<T> {
  return new Promise((resolve) => resolve(work()));
}

function toRecordedEvent(event: StoredEvent): RecordedEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: JSON.parse(event.data) as unknown,
    metadata: JSON.parse(event.metadata) as RecordedEvent['metadata'],
    streamId: event.streamId,
    streamRevision: event.revision,
    globalPosition: event.position,
    recordedAt: new Date(event.recordedMs),
  };
}
