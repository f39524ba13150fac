/**
 * The auditors' reads of the PostgreSQL log: one stream with every event's full place
 * (checkpoint, revision, recorded time) and metadata, and the whole log, or a range of it,
 * as NDJSON lines. Reads go in keyset windows of an index (log-queries.ts, checked by
 * log-plans.int.spec.ts): memory stays that of one window whatever the log's size, and a
 * narrow range reads its own rows, not the log.
 *
 * Events are exported as stored (type, schema version, data and metadata byte for byte),
 * not upcast: an audit copy is what the store holds, which is what a hash over it commits to.
 */
import type pg from 'pg';
import { decodeCheckpoint, encodeCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import { guard } from './guard.js';
import {
  auditLogByCheckpointQuery,
  auditLogByTimeQuery,
  auditStreamQuery,
  headCheckpointQuery,
  type AuditFilter,
  type AuditPosition,
} from './log-queries.js';

/** Rows one statement scans: a window's memory (~a few MB of JSON text) and a statement's time. */
export const AUDIT_WINDOW = 2_000;

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

interface AuditRow {
  tx: string;
  pos: string;
  hit: boolean;
  checkpoint: string;
  stream_id: string | null;
  revision: string;
  event_id: string | null;
  type: string | null;
  schema_version: number;
  data: string | null;
  metadata: string | null;
  recorded_at: string;
  recorded_us: string;
}

const MAX_POSITION: AuditPosition = { tx: (2n ** 63n - 1n).toString(), pos: (2n ** 63n - 1n).toString() };

const position = (checkpoint: Checkpoint): AuditPosition => {
  const [tx, pos] = decodeCheckpoint(checkpoint);
  return { tx: tx.toString(), pos: pos.toString() };
};

const micros = (date: Date): string => (BigInt(date.getTime()) * 1000n).toString();

/**
 * One NDJSON line: the stored JSON text of data and metadata is spliced in as it is (JSON
 * the store was given by JSON.stringify, so it holds no raw line break; one that would is
 * parsed and written again, never split across lines).
 */
function lineOf(row: AuditRow): string {
  const json = (text: string | null): string =>
    text !== null && !/[\n\r]/.test(text) ? text : JSON.stringify(JSON.parse(text ?? 'null'));
  return `{"checkpoint":"${row.checkpoint}","streamId":${JSON.stringify(row.stream_id)},"revision":${row.revision},"eventId":"${row.event_id}","type":${JSON.stringify(row.type)},"schemaVersion":${row.schema_version},"recordedAt":"${row.recorded_at}","data":${json(row.data)},"metadata":${json(row.metadata)}}\n`;
}

function eventOf(row: AuditRow): AuditEvent {
  return {
    checkpoint: row.checkpoint as Checkpoint,
    streamId: row.stream_id!,
    revision: Number(row.revision),
    eventId: row.event_id!,
    type: row.type!,
    schemaVersion: row.schema_version,
    recordedAt: row.recorded_at,
    data: JSON.parse(row.data!) as unknown,
    metadata: JSON.parse(row.metadata!) as Record<string, unknown>,
  };
}

export class PostgresAuditLog {
  constructor(private readonly pool: pg.Pool) {}

  /** The newest checkpoint every reader can see (nothing can commit behind it). */
  async head(): Promise<Checkpoint> {
    return guard(async () => {
      const { rows } = await this.pool.query<{ tx: string; pos: string }>(headCheckpointQuery());
      const row = rows[0];
      return row ? encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)) : START;
    });
  }

  /** A page of one stream after `afterRevision` (-1: from its start), with the cursor of the next. */
  async streamPage(
    streamId: string,
    afterRevision: number,
    limit: number,
  ): Promise<{ events: AuditEvent[]; nextCursor: number | null }> {
    const rows = await guard(async () => {
      const query = auditStreamQuery(
        streamId,
        afterRevision,
        limit + 1,
        { after: position(START), upTo: MAX_POSITION },
        {},
      );
      return (await this.pool.query<AuditRow>(query)).rows;
    });
    const events = rows.slice(0, limit).map(eventOf);
    return { events, nextCursor: rows.length > limit ? events[events.length - 1]!.revision : null };
  }

  /**
   * The log (or the part the query selects) as NDJSON, one chunk of lines per window; the
   * caller pulls the next window only when it has written this one (backpressure). `count`
   * is told how many events each chunk held.
   */
  async *ndjson(query: AuditLogQuery, count: (events: number) => void = () => undefined): AsyncGenerator<string> {
    const head = await this.head();
    const upTo = position(query.upTo !== undefined && query.upTo < head ? query.upTo : head);
    const after = position(query.after ?? START);
    const filter: AuditFilter = {
      ...(query.eventTypes ? { eventTypes: query.eventTypes } : {}),
      ...(query.streamPrefixes ? { streamPrefixes: query.streamPrefixes } : {}),
      ...(query.actorId !== undefined ? { actorId: query.actorId } : {}),
    };
    const window = (next: (last: AuditRow | undefined) => pg.QueryConfig) => this.windows(next, count);
    if (query.streamId !== undefined) {
      const range = {
        after,
        upTo,
        ...(query.since ? { sinceUs: micros(query.since) } : {}),
        ...(query.until ? { untilUs: micros(query.until) } : {}),
      };
      const streamId = query.streamId;
      yield* window((last) =>
        auditStreamQuery(streamId, last ? Number(last.revision) : -1, AUDIT_WINDOW, range, filter),
      );
    } else if (query.since !== undefined || query.until !== undefined) {
      const untilUs = query.until ? micros(query.until) : micros(new Date(8_000_000_000_000));
      if (query.after !== undefined) throw new RangeError('a time range cannot start after a checkpoint too');
      // Every row's transaction id and position are above 0: this starts at `since` itself.
      const start = { tx: '0', pos: '0', recordedUs: query.since ? micros(query.since) : '-62135596800000000' };
      yield* window((last) =>
        auditLogByTimeQuery(
          last ? { tx: last.tx, pos: last.pos, recordedUs: last.recorded_us } : start,
          untilUs,
          upTo,
          AUDIT_WINDOW,
          filter,
        ),
      );
    } else {
      yield* window((last) =>
        auditLogByCheckpointQuery(last ? { tx: last.tx, pos: last.pos } : after, upTo, AUDIT_WINDOW, filter),
      );
    }
  }

  private async *windows(
    next: (last: AuditRow | undefined) => pg.QueryConfig,
    count: (events: number) => void,
  ): AsyncGenerator<string> {
    let last: AuditRow | undefined;
    for (;;) {
      const query = next(last);
      const rows = await guard(async () => (await this.pool.query<AuditRow>(query)).rows);
      let chunk = '';
      let events = 0;
      for (const row of rows) {
        if (!row.hit) continue;
        chunk += lineOf(row);
        events++;
      }
      if (events > 0) {
        count(events);
        yield chunk;
      }
      if (rows.length < AUDIT_WINDOW) return;
      last = rows[rows.length - 1];
    }
  }
}
