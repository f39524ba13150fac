/**
 * The event store on PostgreSQL: the embedded default and a production option. A facade
 * over its parts, each with one concern:
 * - append-queue.ts: group commit (appends that arrive together share one transaction);
 * - batch-write.ts (with write-plan.ts): the transaction that writes a batch;
 * - known-revisions.ts: the stream revisions this process saw committed;
 * - log-reader.ts: reads of the global log under the visibility horizon;
 * - subscription.ts (with log-tail.ts): following the log;
 * - streams.ts: one stream's reads, retention settings and soft delete.
 * The SQL on the log is in log-queries.ts.
 */
import type pg from 'pg';
import { createPool, migrateDatabase, type DatabaseTimeouts } from '@herald/database';
import type { Checkpoint } from '../checkpoint.js';
import { EventStoreUnavailable } from '../errors.js';
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
import { assertStreamId, readChainWindow, validateAppend } from '../validation.js';
import { readChainRows } from './chain-reader.js';
import { cataloguePersonalFields } from '../integrity/catalogue-personal.js';
import { backfillHashes } from './backfill.js';
import { prepareEvents, type PersonalFields } from '../integrity/chain.js';
import { AppendQueue } from './append-queue.js';
import { PostgresAuditLog, type AuditReadOptions } from './audit-log.js';
import { BatchWriter } from './batch-write.js';
import { guard } from './guard.js';
import { KnownRevisions } from './known-revisions.js';
import { LogReader } from './log-reader.js';
import { Notifier } from './notifier.js';
import { EVENT_STORE_MIGRATIONS } from './schema.js';
import { Streams } from './streams.js';
import { Subscriptions } from './subscription.js';

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
  /**
   * Bounds on waiting for the server (a paused or overloaded one), for the pool that
   * serves appends and reads. Migrations run on a connection of their own, unbounded.
   */
  readonly timeouts?: DatabaseTimeouts;
  /**
   * Which data fields of an event type are personal: they enter the event's hash as salted
   * digests (ADR 030). Default: the catalogue's `personal()` fields.
   */
  readonly personalFields?: PersonalFields;
  /**
   * Writes events without their hash chain when false: only for bench:store's comparison of
   * the chain's cost; `herald verify` reports such events as broken. Not a configuration.
   */
  readonly hashing?: boolean;
  /**
   * How the audit reads (`auditLog`) build their windows: `herald export` asks for two at
   * once, in windows of 500 rows (docs/benchmarks.md, "Audit export"); the API keeps one,
   * read ahead.
   */
  readonly auditReads?: AuditReadOptions;
}

/** Connections of the audit reads: concurrent exports beyond this wait for one. */
const AUDIT_POOL_SIZE = 4;

/** Appends waiting for a write transaction, in serialized bytes, before new ones are refused. */
const MAX_QUEUED_BYTES = 256 * 1024 * 1024;

/** Serialized events in one write transaction at most (one append may exceed it alone). */
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export class PostgresEventStore implements EventStore {
  private readonly pool: pg.Pool;
  private readonly notifier: Notifier;
  private readonly knownRevisions = new KnownRevisions();
  private readonly appends: AppendQueue;
  private readonly log: LogReader;
  private readonly streams: Streams;
  private readonly subscriptions: Subscriptions;
  private closed = false;
  private readonly connectionString: string;
  /**
   * The auditors' reads, on a small pool of their own (opened at the first audit read), so
   * that long exports never take the connections appends and followers need.
   */
  private audit: { pool: pg.Pool; log: PostgresAuditLog } | undefined;
  private readonly auditPool: () => pg.Pool;
  private readonly auditReads: AuditReadOptions | undefined;
  /** null: events are written without hashes. */
  private readonly personalFields: PersonalFields | null;

  constructor(options: PostgresEventStoreOptions) {
    this.connectionString = options.connectionString;
    this.auditReads = options.auditReads;
    this.personalFields = options.hashing === false ? null : (options.personalFields ?? cataloguePersonalFields);
    this.pool = createPool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      applicationName: options.applicationName ?? 'herald-event-store',
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      onError: (error) => {
        // A connection broke: the server may have changed (failover, restore).
        this.knownRevisions.clear();
        // pg-pool's end() resolves before its idle connections have closed: a server that
        // stops right after can still break them. Nobody uses them any more.
        if (!this.closed) options.onError?.(error);
      },
    });
    this.auditPool = () =>
      createPool({
        connectionString: options.connectionString,
        max: AUDIT_POOL_SIZE,
        applicationName: 'herald-audit',
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      });
    this.notifier = new Notifier(options.connectionString);
    const writer = new BatchWriter(this.pool, this.knownRevisions, this.notifier, options.beforeCommit);
    this.appends = new AppendQueue((batch) => writer.write(batch), {
      maxConcurrentBatches: options.maxConcurrentBatches ?? 3,
      maxBatchEvents: options.maxBatchEvents ?? 2_000,
      maxBatchBytes: MAX_BATCH_BYTES,
      maxQueuedBytes: MAX_QUEUED_BYTES,
    });
    this.log = new LogReader(this.pool);
    this.streams = new Streams(this.pool);
    this.subscriptions = new Subscriptions({
      readPage: (readOptions) => this.log.readPage(readOptions),
      wakeups: this.notifier,
      pollIntervalMs: options.pollIntervalMs ?? 250,
      closed: () => this.closed,
    });
  }

  /** Creates or upgrades the schema. */
  async migrate(): Promise<void> {
    // On a connection without the serving pool's timeouts: a migration may take long, and
    // waits for another process's migrations (an advisory lock).
    await guard(() => migrateDatabase(this.connectionString, EVENT_STORE_MIGRATIONS));
    // Global order relies on transaction ids growing. A dump restored into a new cluster
    // can hold ids above the new cluster's counter: new events would then sort before
    // checkpoints followers already passed, and be missed.
    const { rows } = await guard(() =>
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
    // Events written before the hash chain existed get their hashes, once (ADR 030).
    await guard(() => backfillHashes(this.connectionString, this.personalFields ?? cataloguePersonalFields));
  }

  async append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
  ): Promise<AppendResult> {
    const serialized = validateAppend(streamId, events, expectedRevision);
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
    // The part of each hash that needs no stream state, computed before the stream's lock.
    const prepared = this.personalFields ? prepareEvents(serialized, this.personalFields) : serialized;
    return await this.appends.add(streamId, prepared, expectedRevision);
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.streams.readStream(streamId, options);
  }

  /** Every stored row of the stream, retention and soft delete aside: they hide rows, the chain still covers them. */
  async readChain(streamId: string, options: ReadChainOptions = {}): Promise<ChainedEvent[]> {
    assertStreamId(streamId);
    const { from, limit } = readChainWindow(options);
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
    return guard(() => readChainRows(this.pool, streamId, from, limit));
  }

  getStreamInfo(streamId: string): Promise<StreamInfo> {
    return this.streams.getStreamInfo(streamId);
  }

  setStreamMetadata(streamId: string, metadata: StreamMetadata): Promise<void> {
    return this.streams.setStreamMetadata(streamId, metadata);
  }

  deleteStream(streamId: string, expectedRevision?: ExpectedRevision): Promise<void> {
    return this.streams.deleteStream(streamId, expectedRevision);
  }

  async readAll(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    return (await this.log.readPage(options)).page;
  }

  subscribeToAll(options?: SubscribeOptions): AsyncIterable<ReadAllPage> {
    return this.subscriptions.follow(options);
  }

  headCheckpoint(): Promise<Checkpoint> {
    return this.log.headCheckpoint();
  }

  countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    return this.log.countEventsAfter(checkpoint, max);
  }

  /** PostgreSQL's own keyset windows, the lines built by the server (ADR 032): the export's speed. */
  readAuditStream(streamId: string, afterRevision: StreamRevision, limit: number): Promise<AuditStreamPage> {
    return this.auditLogReader().streamPage(streamId, afterRevision, limit);
  }

  auditLog(query: AuditLogQuery, count?: (events: number) => void): Promise<AuditLines> {
    return this.auditLogReader().ndjson(query, count);
  }

  private auditLogReader(): PostgresAuditLog {
    if (this.closed) throw new EventStoreUnavailable('the event store is closed');
    if (!this.audit) {
      const pool = this.auditPool();
      this.audit = { pool, log: new PostgresAuditLog(pool, this.auditReads) };
    }
    return this.audit.log;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let queued appends finish before the pool goes.
    while (!this.appends.idle) await new Promise((r) => setTimeout(r, 5));
    await this.notifier.close();
    await this.audit?.pool.end();
    await this.pool.end();
  }
}
