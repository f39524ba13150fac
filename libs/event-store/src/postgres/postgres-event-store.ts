/**
 * The event store on PostgreSQL: the embedded default and a production option.
 *
 * Writes go through a group commit: appends that arrive together share one transaction
 * (one multi-row insert, one fsync), each still atomic and checked on its own.
 * Reads of the global log use a visibility rule (rows of transactions older than every
 * running one) so that subscribers never skip an event that commits late.
 */
import type pg from 'pg';
import { createPool, isTransientPgError, runMigrations, withClient } from '@herald/database';
import { encodeCheckpoint, decodeCheckpoint, maxCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import {
  DuplicateEventId,
  EventStoreUnavailable,
  InvalidArgument,
  StreamNotFound,
  WrongExpectedRevision,
} from '../errors.js';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  RecordedEvent,
  StreamInfo,
  StreamMetadata,
  SubscribeOptions,
} from '../types.js';
import {
  assertExpectedRevision,
  assertReadCheckpoint,
  assertReadStreamOptions,
  LIMITS,
  assertStreamId,
  readLimit,
  validateAppend,
  type SerializedEvent,
} from '../validation.js';
import {
  countEventsAfterQuery,
  headCheckpointQuery,
  readPageQuery,
  readStreamQuery,
  recordedEventsSql,
  streamRevision,
  streamRevisionsSql,
  streamStateQuery,
} from './log-queries.js';
import { LogTail, type Cursor } from './log-tail.js';
import { Notifier } from './notifier.js';
import { EVENT_STORE_MIGRATIONS } from './schema.js';

export interface PostgresEventStoreOptions {
  readonly connectionString: string;
  readonly poolSize?: number;
  /** How the connections name themselves to the server (pg_stat_activity). */
  readonly applicationName?: string;
  /** How often an idle subscriber looks for events when no notification came. */
  readonly pollIntervalMs?: number;
  /** Group-commit transactions that may run at once. */
  readonly maxConcurrentBatches?: number;
  /** Events in one group-commit transaction at most. */
  readonly maxBatchEvents?: number;
  /** Called inside each write transaction just before COMMIT; throwing rolls it back. For fault-injection tests. */
  readonly beforeCommit?: () => Promise<void>;
  readonly onError?: (error: Error) => void;
}

interface PendingAppend {
  readonly streamId: string;
  readonly events: readonly SerializedEvent[];
  /** Serialized size, for the queue and batch limits. */
  readonly bytes: number;
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** What the group commit decided for one append of a batch. */
type Outcome =
  /** Written in this batch (or a retry of events written earlier in it): the result is its last row's. */
  | { kind: 'row'; row: number }
  /** A retry of events an earlier transaction recorded. */
  | { kind: 'done'; result: AppendResult }
  | { kind: 'fail'; error: Error };

/** An event id of an append that is already recorded, in the database or this batch. */
interface Found {
  streamId: string;
  revision: number;
  /** Recorded by an earlier transaction. */
  recorded?: RecordedRow;
  /** Written earlier in this batch: its row. */
  row?: number;
}

interface StreamRow {
  stream_id: string;
  revision: string;
}

interface RecordedRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  tx: string;
  pos: string;
}

interface StreamState {
  revision: number;
}

interface EventRow {
  tx: string;
  pos: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_ms: number;
}

/** A row of readPageQuery: a scanned entry, with its event's columns when `keep`. */
interface PageRow extends EventRow {
  horizon: string;
  held: boolean;
  keep: boolean;
}

const MAX_BATCH_RETRIES = 5;

/** A filtered page scans at most this many times its limit of log entries. */
const SCAN_FACTOR = 4;

/** How soon a follower first looks again when committed events wait behind a running transaction. */
const HELD_RECHECK_MS = 5;

/**
 * Events the shared tail of the log keeps for this instance's subscribers: about 1 KB each
 * typically, 20 KB at most (a 16 KiB message), so 10 MB typically and 200 MB at worst.
 * Under overload the projections fall seconds behind the head: a tail of 4,000 lost them
 * (bench:chat at saturation fell run after run, 2,444 → 1,936 sends/s; 10,000 held 2,432).
 */
const TAIL_EVENTS = 10_000;

/** Events one read of the tail fetches at most. */
const TAIL_PAGE = 1_000;

/** Appends waiting for a write transaction, in serialized bytes, before new ones are refused. */
const MAX_QUEUED_BYTES = 256 * 1024 * 1024;

/** Serialized events in one write transaction at most (one append may exceed it alone). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** Streams whose revision an event store instance remembers (about 100 bytes each). */
const MAX_KNOWN_REVISIONS = 100_000;

/** First key of the two-key advisory locks on streams (its own key space). */
const STREAM_LOCK_CLASS = 0x48524c44; // "HRLD"

export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly notifier: Notifier;
  private readonly pollIntervalMs: number;
  private readonly maxConcurrentBatches: number;
  private readonly maxBatchEvents: number;
  private readonly queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private batchesInFlight = 0;
  private drainScheduled = false;
  private closed = false;
  /**
   * Stream revisions this process saw committed, so that an append does not read them
   * again. Only a hint: the unique (stream, revision) index rejects a write based on a
   * revision that another process moved, and the batch is retried reading them all.
   */
  private readonly knownRevisions = new Map<string, number>();
  private readonly tail: LogTail;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.pool = createPool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      applicationName: options.applicationName ?? 'herald-event-store',
      onError: (error) => {
        // A connection broke: the server may have changed (failover, restore).
        this.knownRevisions.clear();
        // pg-pool's end() resolves before its idle connections have closed: a server that
        // stops right after can still break them. Nobody uses them any more.
        if (!this.closed) options.onError?.(error);
      },
    });
    this.notifier = new Notifier(options.connectionString);
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.maxConcurrentBatches = options.maxConcurrentBatches ?? 3;
    this.maxBatchEvents = options.maxBatchEvents ?? 2_000;
    this.tail = new LogTail(
      (from) => this.readPage({ from, limit: TAIL_PAGE }),
      () => this.notifier.generation,
      TAIL_EVENTS,
    );
  }

  /** Creates or upgrades the schema. */
  async migrate(): Promise<void> {
    await this.guard(() => runMigrations(this.pool, EVENT_STORE_MIGRATIONS));
    // Global order relies on transaction ids growing. A dump restored into a new cluster
    // can hold ids above the new cluster's counter: new events would then sort before
    // checkpoints followers already passed, and be missed.
    const { rows } = await this.guard(() =>
      this.pool.query<{ behind: boolean }>(
        `SELECT coalesce((SELECT tx_id FROM herald_events ORDER BY tx_id DESC LIMIT 1) >= pg_snapshot_xmax(pg_current_snapshot()), false) AS behind`,
      ),
    );
    if (rows[0]?.behind) {
      throw new Error(
        'the event log holds transaction ids ahead of this PostgreSQL cluster (was it restored from a dump?): ' +
          'new events would be invisible to followers. Upgrade clusters with pg_upgrade, not dump and restore.',
      );
    }
  }

  // ---------------------------------------------------------------- writes

  async append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    const serialized = validateAppend(streamId, events, expectedRevision);
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
    let bytes = 0;
    for (const e of serialized) bytes += e.data.length + e.metadata.length;
    // Back-pressure: when the database cannot keep up, say so rather than queue without bound.
    if (this.queuedBytes + bytes > MAX_QUEUED_BYTES) {
      throw new EventStoreUnavailable('the event store is overloaded (too many appends waiting); retry later');
    }
    this.queuedBytes += bytes;
    return await new Promise((resolve, reject) => {
      this.queue.push({ streamId, events: serialized, bytes, expected: expectedRevision, resolve, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // Let appends issued in the same tick join the batch.
    setImmediate(() => {
      this.drainScheduled = false;
      while (this.queue.length > 0 && this.batchesInFlight < this.maxConcurrentBatches) {
        // Share what is queued among the free connections, so batches overlap rather than
        // one batch taking everything while the others sit idle.
        const free = this.maxConcurrentBatches - this.batchesInFlight;
        const batch = this.takeBatch(Math.ceil(this.queuedEvents() / free));
        this.batchesInFlight++;
        void this.commit(batch).finally(() => {
          this.batchesInFlight--;
          if (this.queue.length > 0) this.scheduleDrain();
        });
      }
    });
  }

  private rememberRevision(streamId: string, revision: number): void {
    if (revision < 0) return;
    this.knownRevisions.delete(streamId); // re-insert: the Map's order is least recently used first
    this.knownRevisions.set(streamId, revision);
    if (this.knownRevisions.size > MAX_KNOWN_REVISIONS) {
      this.knownRevisions.delete(this.knownRevisions.keys().next().value!);
    }
  }

  private queuedEvents(): number {
    let events = 0;
    for (const pending of this.queue) events += pending.events.length;
    return events;
  }

  private takeBatch(share: number): PendingAppend[] {
    const limit = Math.min(this.maxBatchEvents, Math.max(1, share));
    const batch: PendingAppend[] = [];
    let events = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const full = events + next.events.length > limit || bytes + next.bytes > MAX_BATCH_BYTES;
      if (batch.length > 0 && full) break;
      batch.push(this.queue.shift()!);
      events += next.events.length;
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    return batch;
  }

  private async commit(batch: PendingAppend[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // After a conflict, read every revision: one this process knew may be behind.
        const settle = await withClient(this.pool, (client) => this.writeBatch(client, batch, attempt === 1));
        settle();
        return;
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        // Another writer took a revision or an event id first (another process, or a
        // revision known here was behind), or a deadlock: rerun the batch reading every
        // revision; it then sees the other writer's rows (and retries are idempotent).
        const raced = ['23505', '40P01', '40001'].includes(code);
        if (raced && attempt < MAX_BATCH_RETRIES) continue;
        if (isTransientPgError(error)) {
          // The server may have changed under us (failover, restore): forget what we knew.
          this.knownRevisions.clear();
        }
        const failure =
          raced || isTransientPgError(error)
            ? new EventStoreUnavailable(`append failed, retry: ${(error as Error).message}`, { cause: error })
            : error;
        for (const pending of batch) pending.reject(failure);
        return;
      }
    }
  }

  /**
   * One group-commit transaction. Returns the function that settles the callers' promises,
   * to be called only once COMMIT succeeded.
   */
  private async writeBatch(
    client: pg.PoolClient,
    batch: readonly PendingAppend[],
    trustKnownRevisions: boolean,
  ): Promise<() => void> {
    try {
      const streamIds = [...new Set(batch.map((p) => p.streamId))].sort();
      const allIds = batch.flatMap((p) => p.events.map((e) => e.event.eventId.toLowerCase()));
      // Revisions this process saw committed are reused; the others are read. A known
      // revision that contradicts an expectation is read too: it may be behind.
      const streams = new Map<string, StreamState>();
      if (trustKnownRevisions) {
        for (const id of streamIds) {
          const revision = this.knownRevisions.get(id);
          if (revision !== undefined) streams.set(id, { revision });
        }
        for (const pending of batch) {
          const known = streams.get(pending.streamId);
          if (known && checkExpected(pending.expected, known.revision)) streams.delete(pending.streamId);
        }
      }
      const toRead = streamIds.filter((id) => !streams.has(id));
      // One round trip (simple protocol, several statements): open the transaction, lock
      // the streams, read the revisions not known, and find event ids recorded already
      // (idempotent retries). Stream ids and event ids were validated (letters, digits,
      // _ . : -) and are escaped as well.
      const results = (await client.query(
        `BEGIN;
         ${lockStreams(client, streamIds)};
         ${streamRevisionsSql(literal(client, toRead, 'text'))};
         ${recordedEventsSql(literal(client, allIds, 'uuid'))};`,
      )) as unknown as pg.QueryResult[];
      for (const row of (results[2] as pg.QueryResult<StreamRow>).rows) {
        streams.set(row.stream_id, { revision: Number(row.revision) });
      }
      const existing = results[3] as pg.QueryResult<RecordedRow>;
      const recorded = new Map(existing.rows.map((r) => [r.event_id, r]));

      const outcomes: Outcome[] = [];
      const rows = {
        stream: [] as string[],
        revision: [] as number[],
        id: [] as string[],
        type: [] as string[],
        version: [] as number[],
        data: [] as string[],
        metadata: [] as string[],
      };
      // Event ids written earlier in this batch: id -> its row.
      const inBatch = new Map<string, number>();

      for (const pending of batch) {
        const stream = streams.get(pending.streamId)!;
        const ids = pending.events.map((e) => e.event.eventId.toLowerCase());
        // Already recorded (a retry), by an earlier transaction or earlier in this batch.
        const found = ids.map((id): Found | undefined => {
          const row = inBatch.get(id);
          if (row !== undefined) return { streamId: rows.stream[row]!, revision: rows.revision[row]!, row };
          const r = recorded.get(id);
          return r && { streamId: r.stream_id, revision: Number(r.stream_revision), recorded: r };
        });
        if (found.some((f) => f !== undefined)) {
          outcomes.push(idempotentOutcome(pending, found, stream.revision));
          continue;
        }
        const mismatch = checkExpected(pending.expected, stream.revision);
        if (mismatch) {
          outcomes.push({
            kind: 'fail',
            error: new WrongExpectedRevision(
              pending.streamId,
              pending.expected,
              stream.revision < 0 ? 'no_stream' : stream.revision,
            ),
          });
          continue;
        }
        for (const [i, e] of pending.events.entries()) {
          rows.stream.push(pending.streamId);
          rows.revision.push(stream.revision + 1 + i);
          rows.id.push(ids[i]!);
          rows.type.push(e.event.type);
          rows.version.push(e.event.schemaVersion);
          rows.data.push(e.data);
          inBatch.set(ids[i]!, rows.id.length - 1);
          rows.metadata.push(e.metadata);
        }
        stream.revision += pending.events.length;
        outcomes.push({ kind: 'row', row: rows.id.length - 1 });
      }

      let positions: { tx: string; pos: string }[] = [];
      if (rows.id.length > 0) {
        // Appending revives a soft-deleted stream (streams without settings have no row).
        const written = [...new Set(rows.stream)];
        const inserted = await client.query<{ tx: string; pos: string; event_id: string }>({
          // Prepared once per connection: the plan is reused by every batch.
          name: 'herald-append',
          text: `WITH revived AS (UPDATE herald_streams SET deleted = false WHERE stream_id = ANY($8::text[]) AND deleted)
           INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::json[], $7::json[])
           RETURNING tx_id::text AS tx, global_position::text AS pos, event_id::text`,
          values: [rows.stream, rows.revision, rows.id, rows.type, rows.version, rows.data, rows.metadata, written],
        });
        const byId = new Map(inserted.rows.map((r) => [r.event_id, r]));
        positions = rows.id.map((id) => byId.get(id)!);
      }
      await this.options.beforeCommit?.();
      // No NOTIFY inside this transaction: PostgreSQL serializes the commits of notifying
      // transactions (a database-wide lock held through the WAL flush), which would undo
      // the group commit. Followers are told after the commit instead (below).
      await client.query('COMMIT');
      for (const [id, stream] of streams) this.rememberRevision(id, stream.revision);
      if (rows.id.length > 0) this.notifier.publish(this.pool);

      return () => {
        for (const [index, outcome] of outcomes.entries()) {
          const pending = batch[index]!;
          switch (outcome.kind) {
            case 'row': {
              const at = positions[outcome.row]!;
              pending.resolve({
                nextExpectedRevision: rows.revision[outcome.row]!,
                checkpoint: encodeCheckpoint(BigInt(at.tx), BigInt(at.pos)),
              });
              break;
            }
            case 'done':
              pending.resolve(outcome.result);
              break;
            case 'fail':
              pending.reject(outcome.error);
              break;
            default:
              outcome satisfies never;
          }
        }
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }

    /** A retry: the same events at the same place succeed with the first result. */
    function idempotentOutcome(pending: PendingAppend, found: (Found | undefined)[], currentRevision: number): Outcome {
      const first = found[0];
      const firstRevision = first ? first.revision : -1;
      const inPlace =
        first !== undefined &&
        found.every((f, i) => f !== undefined && f.streamId === pending.streamId && f.revision === firstRevision + i);
      const atExpected =
        pending.expected === 'any' || pending.expected === 'stream_exists'
          ? true
          : pending.expected === 'no_stream'
            ? firstRevision === 0
            : firstRevision === pending.expected + 1;
      if (inPlace && atExpected) {
        const last = found[found.length - 1]!;
        return last.recorded
          ? {
              kind: 'done',
              result: {
                nextExpectedRevision: last.revision,
                checkpoint: encodeCheckpoint(BigInt(last.recorded.tx), BigInt(last.recorded.pos)),
              },
            }
          : { kind: 'row', row: last.row! };
      }
      if (inPlace) {
        return {
          kind: 'fail',
          error: new WrongExpectedRevision(
            pending.streamId,
            pending.expected,
            currentRevision < 0 ? 'no_stream' : currentRevision,
          ),
        };
      }
      const index = found.findIndex((f) => f !== undefined);
      return { kind: 'fail', error: new DuplicateEventId(pending.events[index]!.event.eventId, pending.streamId) };
    }
  }

  // ---------------------------------------------------------------- stream reads

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    assertReadStreamOptions(options);
    const limit = readLimit(options.limit);
    const backwards = options.direction === 'backwards';
    return this.guard(async () => {
      const info = await this.streamState(streamId);
      if (info.deleted || info.revision < 0) throw new StreamNotFound(streamId);
      const { maxCount, truncateBefore, maxAgeSeconds } = info.metadata;
      const oldestKept = Math.max(
        info.deletedBefore,
        truncateBefore ?? 0,
        maxCount === undefined ? 0 : info.revision - maxCount + 1,
      );
      const from =
        options.from === undefined || options.from === (backwards ? 'end' : 'start')
          ? backwards
            ? info.revision
            : oldestKept
          : options.from === 'start'
            ? 0
            : options.from === 'end'
              ? info.revision
              : options.from;
      const result = await this.pool.query<EventRow>(
        readStreamQuery(streamId, backwards, from, oldestKept, maxAgeSeconds, limit),
      );
      return result.rows.map(toRecordedEvent);
    });
  }

  async getStreamInfo(streamId: string): Promise<StreamInfo> {
    assertStreamId(streamId);
    const { revision, deleted, metadata } = await this.streamState(streamId);
    return { revision, deleted, metadata };
  }

  /** The stream's info plus where a soft delete cut its history. */
  private async streamState(streamId: string): Promise<StreamInfo & { deletedBefore: number }> {
    return this.guard(async () => {
      const { rows } = await this.pool.query<{
        revision: string;
        deleted: boolean | null;
        max_age_seconds: string | null;
        max_count: string | null;
        truncate_before: string | null;
        deleted_before: string | null;
      }>(streamStateQuery(streamId));
      const row = rows[0]!;
      const metadata: { -readonly [K in keyof StreamMetadata]: StreamMetadata[K] } = {};
      if (row.max_age_seconds !== null) metadata.maxAgeSeconds = Number(row.max_age_seconds);
      if (row.max_count !== null) metadata.maxCount = Number(row.max_count);
      if (row.truncate_before !== null) metadata.truncateBefore = Number(row.truncate_before);
      return {
        revision: Number(row.revision),
        deleted: row.deleted === true,
        metadata,
        deletedBefore: row.deleted_before === null ? 0 : Number(row.deleted_before),
      };
    });
  }

  async setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    assertStreamId(streamId);
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
    await this.guard(() =>
      this.pool.query(
        `INSERT INTO herald_streams (stream_id, max_age_seconds, max_count, truncate_before) VALUES ($1, $2, $3, $4)
         ON CONFLICT (stream_id) DO UPDATE SET max_age_seconds = $2, max_count = $3, truncate_before = $4`,
        [streamId, metadata.maxAgeSeconds ?? null, metadata.maxCount ?? null, metadata.truncateBefore ?? null],
      ),
    );
  }

  async deleteStream(streamId: string, expectedRevision: ExpectedRevision = 'any'): Promise<void> {
    assertStreamId(streamId);
    assertExpectedRevision(expectedRevision);
    await this.guard(() =>
      withClient(this.pool, async (client) => {
        try {
          const results = (await client.query(
            `BEGIN; ${lockStreams(client, [streamId])};
             SELECT ${streamRevision(client.escapeLiteral(streamId))}::text AS revision,
                    coalesce((SELECT deleted FROM herald_streams WHERE stream_id = ${client.escapeLiteral(streamId)}), false) AS deleted;`,
          )) as unknown as pg.QueryResult[];
          const row = (results[2] as pg.QueryResult<{ revision: string; deleted: boolean }>).rows[0]!;
          const revision = row.deleted ? -1 : Number(row.revision);
          if (checkExpected(expectedRevision, revision)) {
            throw new WrongExpectedRevision(streamId, expectedRevision, revision < 0 ? 'no_stream' : revision);
          }
          if (revision < 0) throw new StreamNotFound(streamId);
          // The deletion point is kept apart from the retention settings, which a later
          // setStreamMetadata replaces: deleted history stays hidden.
          await client.query(
            `INSERT INTO herald_streams (stream_id, deleted, deleted_before) VALUES ($1, true, $2)
             ON CONFLICT (stream_id) DO UPDATE SET deleted = true, deleted_before = $2`,
            [streamId, revision + 1],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    );
  }

  // ---------------------------------------------------------------- global log

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    return (await this.readPage(options)).page;
  }

  /**
   * A page of the log; whether committed events wait behind the visibility horizon; and
   * whether the scan reached the horizon (`caughtUp`), so that a follower should wait.
   *
   * The scan walks the log in order and stops after `SCAN_FACTOR × limit` entries even when
   * the filter matched fewer: a filtered page costs the same whatever the filter, and the
   * planner never gets the chance to fetch and sort everything after the checkpoint (which
   * it picks when it misjudges how many rows a filter keeps).
   */
  private async readPage(options: ReadAllOptions): Promise<{ page: ReadAllPage; held: boolean; caughtUp: boolean }> {
    const from = options.from ?? START;
    assertReadCheckpoint(from);
    const limit = readLimit(options.limit);
    const scan = options.filter ? limit * SCAN_FACTOR : limit;
    const [tx, pos] = decodeCheckpoint(from);
    return this.guard(async () => {
      const result = await this.pool.query<PageRow>(readPageQuery(tx, pos, limit, scan, options.filter));
      const rows = result.rows;
      const first = rows[0]!;
      const horizon = BigInt(first.horizon);
      const scanned = first.tx === null ? [] : rows;
      const events = scanned.filter((row) => row.keep).map(toRecordedEvent);
      const caughtUp = scanned.length < scan;
      const last = scanned.at(-1);
      const scannedTo = last ? encodeCheckpoint(BigInt(last.tx), BigInt(last.pos)) : from;
      let checkpoint: Checkpoint;
      if (events.length === limit) checkpoint = events[events.length - 1]!.globalPosition;
      else if (!caughtUp) checkpoint = scannedTo;
      // Everything before the horizon was scanned: a filtered reader need not look there again.
      else
        checkpoint =
          horizon > 0n ? maxCheckpoint(scannedTo, encodeCheckpoint(horizon - 1n, (1n << 63n) - 1n)) : scannedTo;
      return { page: { events, checkpoint }, held: first.held, caughtUp: caughtUp && events.length < limit };
    });
  }

  /**
   * Subscribers within the tail share its reads (see LogTail); one behind it reads on its
   * own, with its filter, until it catches up.
   */
  async *subscribeToAll(options: SubscribeOptions = {}): AsyncIterable<ReadAllPage> {
    const limit = readLimit(options.limit);
    const { signal, filter } = options;
    const cursor: Cursor = { from: options.from ?? START };
    let heldWait = 0;
    // Waits for news after a read that reached the horizon: at the next notification, or
    // soon when committed events wait behind a transaction still running (any writer's, a
    // projection's), backing off while that transaction lasts.
    const waitForNews = (held: boolean, since: number): Promise<void> => {
      heldWait = held ? Math.min(this.pollIntervalMs, heldWait === 0 ? HELD_RECHECK_MS : heldWait * 2) : 0;
      return this.notifier.wait(held ? heldWait : this.pollIntervalMs, signal, since);
    };
    this.tail.follow(cursor);
    try {
      while (!signal?.aborted && !this.closed) {
        const place = this.tail.place(cursor);
        if (place === 'inside') {
          const { page, atEnd } = this.tail.take(cursor, limit, filter);
          if (page.events.length > 0 || page.checkpoint !== cursor.from) {
            cursor.from = page.checkpoint;
            yield page;
          }
          if (!atEnd) continue;
          const end = this.tail.state;
          if (end?.caughtUp) await waitForNews(end.held, end.generation);
          if (!signal?.aborted && !this.closed) await this.tail.extend();
        } else if (place === 'ahead') {
          await this.tail.extend();
        } else {
          // A notification that arrives while we read is not lost: the wait below sees it.
          const notified = this.notifier.generation;
          const { page, held, caughtUp } = await this.readPage({
            from: cursor.from,
            limit,
            ...(filter ? { filter } : {}),
          });
          if (page.events.length > 0 || page.checkpoint !== cursor.from) {
            cursor.from = page.checkpoint;
            yield page;
          }
          if (caughtUp && this.tail.place(cursor, true) === 'behind') await waitForNews(held, notified);
        }
      }
    } finally {
      this.tail.leave(cursor);
    }
  }

  async headCheckpoint(): Promise<Checkpoint> {
    return this.guard(async () => {
      const { rows } = await this.pool.query<{ tx: string; pos: string }>(headCheckpointQuery());
      const row = rows[0];
      return row ? encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)) : START;
    });
  }

  async countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    assertReadCheckpoint(checkpoint);
    const [tx, pos] = decodeCheckpoint(checkpoint);
    return this.guard(async () => {
      const { rows } = await this.pool.query<{ n: number }>(countEventsAfterQuery(tx, pos, max));
      return rows[0]!.n;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued appends finish before the pool goes.
    while (this.queue.length > 0 || this.batchesInFlight > 0) await new Promise((r) => setTimeout(r, 5));
    await this.notifier.close();
    await this.pool.end();
  }

  /** Maps lost connections to EventStoreUnavailable; domain errors pass through. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (isTransientPgError(error)) {
        throw new EventStoreUnavailable(`event store unavailable: ${(error as Error).message}`, { cause: error });
      }
      throw error;
    }
  }
}

/**
 * Serializes writers of the same streams without writing a row: transaction-level
 * advisory locks on the streams' hashes, taken in hash order so that concurrent batches
 * cannot deadlock (a hash collision only makes two streams share a lock).
 */
function lockStreams(client: pg.ClientBase, streamIds: readonly string[]): string {
  return `SELECT pg_advisory_xact_lock(${STREAM_LOCK_CLASS}, k)
            FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest(${literal(client, streamIds, 'text')}) AS id ORDER BY 1) AS keys`;
}

/** An array literal of validated ids (letters, digits, _ . : -), escaped all the same. */
function literal(client: pg.ClientBase, ids: readonly string[], type: 'text' | 'uuid'): string {
  return `ARRAY[${ids.map((id) => client.escapeLiteral(id)).join(',')}]::${type}[]`;
}

/** Returns true when `expected` does not match a stream at `revision` (-1: no events). */
function checkExpected(expected: ExpectedRevision, revision: number): boolean {
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

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata as RecordedEvent['metadata'],
    streamId: row.stream_id,
    streamRevision: Number(row.stream_revision),
    globalPosition: encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)),
    recordedAt: new Date(row.recorded_ms),
  };
}
