/**
 * Every query the PostgreSQL event store runs on `herald_events`, in one place so that a
 * test can ask PostgreSQL how it plans each of them (log-plans.int.spec.ts).
 *
 * The rule they follow (issue 12): the only plan available touches the rows it returns plus
 * a bounded scan, whatever the table's statistics say. A young, fast-growing log has
 * statistics that lie, and a join back to the log (an earlier version fetched a page's rows
 * by joining its positions to the table) was then planned as a hash join over a sequential
 * scan of the whole log. So: no joins to the log; each read is one index-ordered, limited
 * scan that fetches its columns itself, or a lookup by a unique key.
 */
import { READ_MODEL_APPLICATION_NAME } from '@herald/database';
import { CREDENTIAL_FIELDS, REDACTED } from '@herald/events';
import type { EventFilter } from '../types.js';

export interface Query {
  readonly text: string;
  readonly values: unknown[];
}

/** The columns of an event as the store reads them back. */
export const EVENT_COLUMNS = `tx_id::text AS tx, global_position::text AS pos, stream_id, stream_revision::text,
  event_id::text, type, schema_version, data, metadata,
  (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms`;

/**
 * The visibility horizon of the statement's snapshot (ADR 001): the oldest transaction
 * still running that may write the log, or the snapshot's xmax when none is. Every row of
 * an older transaction is final: nothing can commit behind it. Read-model transactions do
 * not count (the log refuses their writes, migration event-store-002): a projection's batch,
 * open for milliseconds at a time, would otherwise hold every follower back, push included.
 * An id that cannot be named a read model's (its transaction ended since the snapshot) counts.
 * (ORDER BY … LIMIT 1, not min(): PostgreSQL has min(xid8) only from version 15.)
 */
const HORIZON = `least(pg_snapshot_xmax(pg_current_snapshot()),
  (SELECT x FROM pg_snapshot_xip(pg_current_snapshot()) AS x
    WHERE x::xid NOT IN (SELECT backend_xid FROM pg_stat_get_activity(NULL)
                          WHERE application_name = '${READ_MODEL_APPLICATION_NAME}' AND backend_xid IS NOT NULL)
    ORDER BY x LIMIT 1))`;

/**
 * A page of the global log after (tx, pos): the first `scan` entries below the horizon, in
 * order, each flagged `hit` when it passes the filter and `keep` when it is one of the first
 * `limit` hits. Only kept rows carry their data and metadata.
 *
 * One row always comes back (the horizon, and `held`: whether committed events wait behind a
 * running transaction); with nothing scanned its `tx` is null. The scan is a LATERAL subquery
 * with a LIMIT: PostgreSQL can only run it as a nested loop over the one-row horizon, reading
 * the primary key's index from the checkpoint on, and it reads each row once.
 */
export function readPageQuery(
  tx: bigint,
  pos: bigint,
  limit: number,
  scan: number,
  filter: EventFilter | undefined,
): Query {
  const { clause, params } = filterClause(filter, 5);
  const kept = 's.hit AND s.nth <= $3';
  return {
    text: `WITH h AS MATERIALIZED (
           SELECT x.horizon,
                  -- the newest row's transaction, found at the end of the index (an EXISTS
                  -- on tx_id >= horizon gets planned as a scan of the whole table)
                  coalesce((SELECT tx_id FROM herald_events ORDER BY tx_id DESC LIMIT 1) >= x.horizon, false) AS held
             FROM (SELECT ${HORIZON} AS horizon) AS x)
         SELECT h.horizon::text AS horizon, h.held, p.*
           FROM h LEFT JOIN LATERAL (
             SELECT s.tx_id::text AS tx, s.global_position::text AS pos, ${kept} AS keep,
                    s.stream_id, s.stream_revision::text, s.event_id::text, s.type, s.schema_version,
                    CASE WHEN ${kept} THEN s.data END AS data,
                    CASE WHEN ${kept} THEN s.metadata END AS metadata,
                    (extract(epoch FROM s.recorded_at) * 1000)::float8 AS recorded_ms
               FROM (SELECT e.*, count(*) FILTER (WHERE e.hit) OVER (ORDER BY e.tx_id, e.global_position) AS nth
                       FROM (SELECT herald_events.*, (true ${clause}) AS hit FROM herald_events
                              WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint) AND tx_id < h.horizon
                              ORDER BY tx_id, global_position LIMIT $4) AS e) AS s
              ORDER BY s.tx_id, s.global_position) AS p ON true`,
    values: [tx.toString(), pos.toString(), limit, scan, ...params],
  };
}

/** A stream's events from a revision, either way, by the (stream, revision) unique index. */
export function readStreamQuery(
  streamId: string,
  backwards: boolean,
  from: number,
  oldestKept: number,
  maxAgeSeconds: number | undefined,
  limit: number,
): Query {
  // The table's column in ORDER BY: the select list has a text column of the same name.
  return {
    text: `SELECT ${EVENT_COLUMNS} FROM herald_events
            WHERE stream_id = $1 AND stream_revision ${backwards ? '<=' : '>='} $2 AND stream_revision >= $3
              AND ($4::bigint IS NULL OR recorded_at > now() - make_interval(secs => $4))
            ORDER BY herald_events.stream_revision ${backwards ? 'DESC' : 'ASC'} LIMIT $5`,
    values: [streamId, from, oldestKept, maxAgeSeconds ?? null, limit],
  };
}

/** A stream's revision (its newest event's, -1 without events): the end of its unique index. */
export const streamRevision = (streamId: string): string =>
  `coalesce((SELECT stream_revision FROM herald_events e WHERE e.stream_id = ${streamId}
              ORDER BY e.stream_revision DESC LIMIT 1), -1)`;

/** A stream's revision and settings. */
export function streamStateQuery(streamId: string): Query {
  return {
    text: `SELECT ${streamRevision('$1')}::text AS revision,
                  s.deleted, s.max_age_seconds::text, s.max_count::text, s.truncate_before::text, s.deleted_before::text
             FROM (SELECT 1) AS one LEFT JOIN herald_streams s ON s.stream_id = $1`,
    values: [streamId],
  };
}

/**
 * The revisions of the streams named by an array expression, with their newest event's hash
 * (hex), which the next event chains to: one look at the end of each stream's unique index.
 */
export const streamHeadsSql = (ids: string): string =>
  `SELECT id AS stream_id, coalesce(h.stream_revision, -1)::text AS revision, encode(h.hash, 'hex') AS hash
     FROM unnest(${ids}) AS id LEFT JOIN LATERAL (
       SELECT stream_revision, hash FROM herald_events e WHERE e.stream_id = id
        ORDER BY e.stream_revision DESC LIMIT 1) AS h ON true`;

/** Events already recorded among the ids of an array expression (idempotent retries). */
export const recordedEventsSql = (ids: string): string =>
  `SELECT r.* FROM unnest(${ids}) AS id, LATERAL (
     SELECT event_id::text, stream_id, stream_revision::text, tx_id::text AS tx, global_position::text AS pos
       FROM herald_events WHERE event_id = id LIMIT 1) AS r`;

/** The newest position below the horizon: the end of the primary key's index. */
export const headCheckpointQuery = (): Query => ({
  text: `SELECT tx_id::text AS tx, global_position::text AS pos FROM herald_events
          WHERE tx_id < ${HORIZON} ORDER BY tx_id DESC, global_position DESC LIMIT 1`,
  values: [],
});

/** How many events follow a position, counting at most `max` index entries. */
export const countEventsAfterQuery = (tx: bigint, pos: bigint, max: number): Query => ({
  text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM herald_events
          WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
          ORDER BY tx_id, global_position LIMIT $3) AS after`,
  values: [tx.toString(), pos.toString(), max],
});

/**
 * An audit window: one row whatever the window holds, with the NDJSON lines of its hits as
 * one string, built by PostgreSQL (each a JSON object of the event's place, time and stored
 * content, the stored JSON spliced in as it is), and where the window ended. One value per
 * window instead of a dozen per event keeps the reader's work (and garbage) per window small.
 *
 * Stored JSON can only hold a raw line break as whitespace between tokens (the json type
 * refuses one inside a string), so turning it into a space changes nothing a JSON reader
 * sees, and keeps each event on its line.
 */
/**
 * The data of an event that holds a credential (CREDENTIAL_FIELDS), as the audit reads show
 * it: each such field, when present, replaced by REDACTED (jsonb's text: key order and
 * spacing are then PostgreSQL's, which no JSON reader minds). Types and fields are the
 * catalogue's constants, quoted as literals.
 */
const REDACT_CREDENTIALS = Object.entries(CREDENTIAL_FIELDS)
  .map(([type, fields]) => {
    // create_if_missing false: a field the event does not hold is not added.
    const redacted = fields.reduce(
      (json, field) =>
        `jsonb_set(${json}, ${literal(`{${field}}`)}, ${literal(JSON.stringify(REDACTED))}::jsonb, false)`,
      's.data::jsonb',
    );
    return `WHEN s.type = ${literal(type)} THEN (${redacted})::text`;
  })
  .join(' ');

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function auditWindow(scan: string, order: string, lastOrder: string, values: unknown[]): Query {
  // replace(), not translate(): a tenth of the cost per row, measured.
  const json = (column: string) => `replace(replace(s.${column}::text, E'\\n', ' '), E'\\r', ' ')`;
  const data = `CASE ${REDACT_CREDENTIALS} ELSE ${json('data')} END`;
  const line = `'{"checkpoint":"' || lpad(to_hex(s.tx_id::text::bigint), 16, '0') || '-' || lpad(to_hex(s.global_position), 16, '0')
      || '","streamId":' || to_json(s.stream_id)::text || ',"revision":' || s.stream_revision
      || ',"eventId":"' || s.event_id || '","type":' || to_json(s.type)::text || ',"schemaVersion":' || s.schema_version
      || ',"recordedAt":"' || replace((s.recorded_at AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z"'
      || ',"data":' || ${data} || ',"metadata":' || ${json('metadata')} || E'}\\n'`;
  return {
    text: `WITH s AS MATERIALIZED (${scan}),
                last AS (SELECT * FROM s ORDER BY ${lastOrder} LIMIT 1)
           SELECT (SELECT count(*) FROM s)::int AS scanned, (SELECT count(*) FROM s WHERE s.hit)::int AS hits,
                  last.tx_id::text AS tx, last.global_position::text AS pos, last.stream_revision::text AS revision,
                  (extract(epoch FROM last.recorded_at) * 1000000)::bigint::text AS recorded_us,
                  (SELECT string_agg(${line}, '' ORDER BY ${order}) FROM s WHERE s.hit) AS lines
             FROM (SELECT 1) AS one LEFT JOIN last ON true`,
    values,
  };
}

/** Filters of an audit read of the log; each narrows the rows a scanned window returns. */
export interface AuditFilter {
  readonly eventTypes?: readonly string[];
  readonly streamPrefixes?: readonly string[];
  readonly actorId?: string;
}

/** Where an audit scan of the log stands: after this row of its order. */
export interface AuditPosition {
  readonly tx: string;
  readonly pos: string;
  /** The time-ordered scan's key also starts with the row's recorded time (integer microseconds). */
  readonly recordedUs?: string;
}

/**
 * The next window of the log in checkpoint order, after `after` and up to `upTo`
 * (inclusive): at most `scan` rows of the primary key's index, each a hit when it passes
 * the filter. A narrow range reads only its rows.
 */
export function auditLogByCheckpointQuery(
  after: AuditPosition,
  upTo: AuditPosition,
  scan: number,
  filter: AuditFilter,
): Query {
  const { clause, params } = auditFilterClause(filter, 6);
  return auditWindow(
    `SELECT herald_events.*, (true ${clause}) AS hit FROM herald_events
      WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
        AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
      ORDER BY tx_id, global_position LIMIT $5`,
    's.tx_id, s.global_position',
    'tx_id DESC, global_position DESC',
    [after.tx, after.pos, upTo.tx, upTo.pos, scan, ...params],
  );
}

/**
 * Where the next `count` windows of `scan` rows in checkpoint order end, after `after` and
 * up to `upTo`: every `scan`-th key of the primary key's index (an index-only scan, no row
 * built), so that several windows can be built at once, each by its own connection.
 */
export function auditWindowEndsQuery(after: AuditPosition, upTo: AuditPosition, scan: number, count: number): Query {
  return {
    text: `SELECT tx_id::text AS tx, global_position::text AS pos FROM (
             SELECT tx_id, global_position, row_number() OVER (ORDER BY tx_id, global_position) AS n
               FROM herald_events
              WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
                AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
              ORDER BY tx_id, global_position LIMIT $5) AS k
            WHERE n % $6 = 0 ORDER BY n`,
    values: [after.tx, after.pos, upTo.tx, upTo.pos, scan * count, scan],
  };
}

const AT = (param: string) => `('epoch'::timestamptz + ${param}::bigint * interval '1 microsecond')`;

/**
 * The next window of the log recorded in [`after`'s time, `untilUs`), in recorded order
 * (then checkpoint order), by the recorded_at index (event-store-003); rows past the
 * export's head checkpoint `upTo` are not hits (they were not final when it began).
 */
export function auditLogByTimeQuery(
  after: AuditPosition & { readonly recordedUs: string },
  untilUs: string,
  upTo: AuditPosition,
  scan: number,
  filter: AuditFilter,
): Query {
  const { clause, params } = auditFilterClause(filter, 8);
  return auditWindow(
    `SELECT herald_events.*, ((tx_id, global_position) <= ($6::text::xid8, $7::bigint) ${clause}) AS hit
       FROM herald_events
      WHERE (recorded_at, tx_id, global_position) > (${AT('$1')}, $2::text::xid8, $3::bigint)
        AND recorded_at < ${AT('$4')}
      ORDER BY recorded_at, tx_id, global_position LIMIT $5`,
    's.recorded_at, s.tx_id, s.global_position',
    'recorded_at DESC, tx_id DESC, global_position DESC',
    [after.recordedUs, after.tx, after.pos, untilUs, scan, upTo.tx, upTo.pos, ...params],
  );
}

/**
 * The next window of one stream by revision (its unique index), after revision `after`;
 * rows outside the checkpoint range (and, when given, the time range) are not hits.
 */
export function auditStreamQuery(
  streamId: string,
  after: number,
  scan: number,
  range: {
    readonly after: AuditPosition;
    readonly upTo: AuditPosition;
    readonly sinceUs?: string;
    readonly untilUs?: string;
  },
  filter: AuditFilter,
): Query {
  const { clause, params } = auditFilterClause(filter, 10);
  return auditWindow(
    `SELECT herald_events.*, ((tx_id, global_position) > ($4::text::xid8, $5::bigint)
         AND (tx_id, global_position) <= ($6::text::xid8, $7::bigint)
         AND ($8::bigint IS NULL OR recorded_at >= ${AT('$8')})
         AND ($9::bigint IS NULL OR recorded_at < ${AT('$9')}) ${clause}) AS hit
       FROM herald_events
      WHERE stream_id = $1 AND stream_revision > $2
      ORDER BY stream_revision LIMIT $3`,
    's.stream_revision',
    'stream_revision DESC',
    [
      streamId,
      after,
      scan,
      range.after.tx,
      range.after.pos,
      range.upTo.tx,
      range.upTo.pos,
      range.sinceUs ?? null,
      range.untilUs ?? null,
      ...params,
    ],
  );
}

function auditFilterClause(filter: AuditFilter, firstParam: number): { clause: string; params: unknown[] } {
  const { clause, params } = filterClause(filter, firstParam);
  if (filter.actorId === undefined) return { clause, params };
  return {
    clause: `${clause} AND metadata->>'actorId' = $${firstParam + params.length}`,
    params: [...params, filter.actorId],
  };
}

function filterClause(filter: EventFilter | undefined, firstParam: number): { clause: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter?.eventTypes) {
    params.push([...filter.eventTypes]);
    parts.push(`AND type = ANY($${firstParam + params.length - 1}::text[])`);
  }
  if (filter?.streamPrefixes) {
    params.push(filter.streamPrefixes.map((p) => p.replace(/[\\%_]/g, (c) => `\\${c}`) + '%'));
    parts.push(`AND stream_id LIKE ANY($${firstParam + params.length - 1}::text[])`);
  }
  return { clause: parts.join(' '), params };
}
