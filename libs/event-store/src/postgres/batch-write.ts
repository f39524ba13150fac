/**
 * The transaction that writes one group-commit batch: lock the batch's streams, find their
 * revisions (from the known-revision cache, or read) and the event ids recorded already,
 * insert what the write plan says, commit, then tell followers. A batch that lost a race to
 * another writer is run again reading every revision; what fails for good fails the batch.
 */
import type pg from 'pg';
import { isTransientPgError, withClient } from '@herald/database';
import { isWrongRevision } from '../append-rules.js';
import { encodeCheckpoint } from '../checkpoint.js';
import { EventStoreUnavailable } from '../errors.js';
import type { PendingAppend } from './append-queue.js';
import type { KnownRevisions } from './known-revisions.js';
import { recordedEventsSql, streamHeadsSql } from './log-queries.js';
import type { Notifier } from './notifier.js';
import { literal, lockStreams, lockStreamsCte } from './stream-locks.js';
import { planBatch, type BatchRows, type RecordedRow, type StreamState, type WritePlan } from './write-plan.js';

const MAX_BATCH_RETRIES = 5;

interface InsertedRow {
  tx: string;
  pos: string;
  event_id: string;
}

interface StreamRow {
  stream_id: string;
  revision: string;
  hash: string | null;
}

export class BatchWriter {
  constructor(
    private readonly pool: pg.Pool,
    private readonly knownRevisions: KnownRevisions,
    /** Tells followers of commits (the Notifier). */
    private readonly notifier: Pick<Notifier, 'publish'>,
    /** Runs inside each write transaction just before COMMIT; throwing rolls it back. For fault-injection tests. */
    private readonly beforeCommit: (() => Promise<void>) | undefined,
  ) {}

  /** Writes a batch (see WriteBatch): resolves to the function that settles its appends. */
  async write(batch: readonly PendingAppend[]): Promise<() => void> {
    for (let attempt = 1; ; attempt++) {
      try {
        // After a conflict, read every revision: one this process knew may be behind.
        return await withClient(this.pool, (client) => this.writeOnce(client, batch, attempt === 1));
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
        throw raced || isTransientPgError(error)
          ? new EventStoreUnavailable(`append failed, retry: ${(error as Error).message}`, { cause: error })
          : error;
      }
    }
  }

  /**
   * One group-commit transaction. Returns the function that settles the callers' promises,
   * to be called only once COMMIT succeeded.
   */
  private async writeOnce(
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
          const known = this.knownRevisions.get(id);
          if (known !== undefined) streams.set(id, { revision: known.revision, hash: known.hash });
        }
        for (const pending of batch) {
          const known = streams.get(pending.streamId);
          if (known && isWrongRevision(pending.expected, known.revision)) streams.delete(pending.streamId);
        }
      }
      const toRead = streamIds.filter((id) => !streams.has(id));
      // The common case, one round trip: every revision is known here and nothing is
      // checked before COMMIT (no fault injection). The batch is planned without looking
      // for recorded event ids, and written by one prepared statement outside an explicit
      // transaction: it takes the streams' locks, inserts, and commits (fsync'd) before
      // it answers. A retried append's ids, or a revision another process took meanwhile,
      // break a unique key, the statement rolls back, and the batch runs again reading
      // everything (write()): retries stay idempotent, at one more round trip.
      if (toRead.length === 0 && trustKnownRevisions && !this.beforeCommit) {
        // Planned on a copy: the plan moves the revisions, and the other path starts afresh.
        const planned = new Map([...streams].map(([id, stream]) => [id, { ...stream }]));
        const { rows, outcomes } = planBatch(batch, planned, new Map());
        // Only when every event is written: an append that fails or repeats goes the other way.
        if (rows.id.length === batch.reduce((n, p) => n + p.events.length, 0)) {
          const inserted = await client.query<InsertedRow>({
            // Prepared once per connection: parsed and planned once, not per batch.
            name: 'herald-append-one-trip',
            text: `WITH ${lockStreamsCte('$8::text[]')},
                   ${REVIVE}
              ${INSERT}
              SELECT s, r, i, t, v, d, m, decode(h, 'hex'), p
                FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::json[], $7::json[], $9::text[], $10::json[])
                     AS u(s, r, i, t, v, d, m, h, p)
               WHERE (SELECT n FROM stream_locks) >= 0
              ${RETURNING}`,
            values: values(rows, streamIds),
          });
          return this.committed(batch, planned, rows, outcomes, inserted.rows);
        }
      }
      // Otherwise (one round trip to open the transaction, simple protocol, several
      // statements): open the transaction, lock the streams, read the revisions not known,
      // and find event ids recorded already (idempotent retries). Stream ids and event ids
      // were validated (letters, digits, _ . : -) and are escaped as well.
      const results = (await client.query(
        `BEGIN;
         ${lockStreams(client, streamIds)};
         ${streamHeadsSql(literal(client, toRead, 'text'))};
         ${recordedEventsSql(literal(client, allIds, 'uuid'))};`,
      )) as unknown as pg.QueryResult[];
      for (const row of (results[2] as pg.QueryResult<StreamRow>).rows) {
        streams.set(row.stream_id, { revision: Number(row.revision), hash: row.hash });
      }
      const existing = results[3] as pg.QueryResult<RecordedRow>;
      const recorded = new Map(existing.rows.map((r) => [r.event_id, r]));

      const { rows, outcomes } = planBatch(batch, streams, recorded);

      let inserted: InsertedRow[] = [];
      if (rows.id.length > 0) {
        inserted = (
          await client.query<InsertedRow>({
            // Prepared once per connection: the plan is reused by every batch.
            name: 'herald-append-chained',
            text: `WITH ${REVIVE}
             ${INSERT}
             SELECT s, r, i, t, v, d, m, decode(h, 'hex'), p
               FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::json[], $7::json[], $9::text[], $10::json[])
                    AS u(s, r, i, t, v, d, m, h, p)
             ${RETURNING}`,
            values: values(rows, [...new Set(rows.stream)]),
          })
        ).rows;
      }
      await this.beforeCommit?.();
      // No NOTIFY inside this transaction: PostgreSQL serializes the commits of notifying
      // transactions (a database-wide lock held through the WAL flush), which would undo
      // the group commit. Followers are told after the commit instead (committed()).
      await client.query('COMMIT');
      return this.committed(batch, streams, rows, outcomes, inserted);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** After COMMIT: remembers the revisions, tells followers, and returns the function that settles the appends. */
  private committed(
    batch: readonly PendingAppend[],
    streams: ReadonlyMap<string, StreamState>,
    rows: BatchRows,
    outcomes: WritePlan['outcomes'],
    inserted: readonly InsertedRow[],
  ): () => void {
    for (const [id, stream] of streams) this.knownRevisions.remember(id, stream.revision, stream.hash);
    if (rows.id.length > 0) this.notifier.publish(this.pool);
    const byId = new Map(inserted.map((r) => [r.event_id, r]));
    const positions = rows.id.map((id) => byId.get(id)!);
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
  }
}

/** Appending revives a soft-deleted stream (streams without settings have no row). */
const REVIVE = `revived AS (UPDATE herald_streams SET deleted = false WHERE stream_id = ANY($8::text[]) AND deleted)`;

const INSERT = `INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata, hash, personal)`;

const RETURNING = 'RETURNING tx_id::text AS tx, global_position::text AS pos, event_id::text';

/** The insert's parameters: the rows column by column ($1–$7, $9, $10) and the streams written ($8). */
function values(rows: BatchRows, streams: readonly string[]): unknown[] {
  return [
    rows.stream,
    rows.revision,
    rows.id,
    rows.type,
    rows.version,
    rows.data,
    rows.metadata,
    streams,
    rows.hash,
    rows.personal,
  ];
}
