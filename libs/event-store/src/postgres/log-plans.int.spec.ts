/**
 * The event store's reads cost what they return, not the size of the log, whatever the
 * statistics say (issue 12). On a log of 100,000 events whose statistics were taken when it
 * was nearly empty (a young, fast-growing log: a fresh deployment, a benchmark, a burst),
 * and again with fresh statistics, PostgreSQL runs each query at the head of the log and
 * the plan it chose is walked: no node may read more than a small bound of rows from
 * `herald_events`, and none may scan it sequentially.
 */
import { streamIdOf, streamPrefixOf } from '@herald/events';
import { freshDatabase, testEvent } from '@herald/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, type Checkpoint } from '../checkpoint.js';
import {
  auditLogByCheckpointQuery,
  auditLogByTimeQuery,
  auditStreamQuery,
  countEventsAfterQuery,
  headCheckpointQuery,
  readPageQuery,
  readStreamQuery,
  recordedEventsSql,
  streamHeadsSql,
  streamStateQuery,
  type Query,
} from './log-queries.js';
import { PostgresEventStore } from './postgres-event-store.js';

const EVENTS = 100_000;
const STREAMS = 1_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Every node of a plan that reads `herald_events`, with the rows it read in all its loops. */
function logReads(node: PlanNode, found: { type: string; rows: number }[] = []): { type: string; rows: number }[] {
  if (node['Relation Name'] === 'herald_events') {
    const perLoop =
      node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
    found.push({ type: node['Node Type'], rows: perLoop * node['Actual Loops'] });
  }
  for (const child of node.Plans ?? []) logReads(child, found);
  return found;
}

describe('the event log: plans at the head of a 100,000-event log', () => {
  let url: string;
  let db: pg.Client;
  let store: PostgresEventStore;
  let nearHead: Checkpoint;
  let middle: Checkpoint;
  const streams = Array.from({ length: STREAMS }, (_, i) => streamIdOf('conversation', `plan${i}`));
  let someIds: string[] = [];
  /** The middle row's recorded time (integer microseconds), for the audit's time ranges. */
  let middleUs = '0';

  beforeAll(async () => {
    url = await freshDatabase();
    store = new PostgresEventStore({ connectionString: url, poolSize: 2 });
    await store.migrate();
    db = new pg.Client({ connectionString: url });
    await db.connect();
    // Statistics that lie: taken on a near-empty log, never refreshed while it grows.
    await db.query(`ALTER TABLE herald_events SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)`);
    for (const stream of streams.slice(0, 10)) await store.append(stream, [testEvent('MessageSent')], 'any');
    await db.query('ANALYZE herald_events');
    // One transaction per 1,000 rows, as group commits write them; ~500 bytes of data each.
    const text = 'x'.repeat(400);
    for (let done = 10; done < EVENTS; done += 1_000) {
      await db.query(
        `INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
         SELECT $1 || (n % ${STREAMS}), (n / ${STREAMS}) + 1, gen_random_uuid(),
                CASE WHEN n % 10 = 0 THEN 'MemberJoined' ELSE 'MessageSent' END, 1,
                json_build_object('text', $2::text, 'n', n), json_build_object('actorId', 'u' || (n % 97))
           FROM generate_series($3::int, $4::int) AS n`,
        [streamIdOf('conversation', 'plan'), text, done, Math.min(done + 999, EVENTS - 1)],
      );
    }
    const page = await store.readAll({ limit: 1000, from: await store.headCheckpoint() });
    expect(page.events).toEqual([]);
    const { rows } = await db.query<{ tx: string; pos: string }>(
      `SELECT tx_id::text AS tx, global_position::text AS pos FROM herald_events ORDER BY tx_id DESC, global_position DESC OFFSET 50 LIMIT 1`,
    );
    nearHead = checkpoint(rows[0]!);
    const mid = await db.query<{ tx: string; pos: string }>(
      `SELECT tx_id::text AS tx, global_position::text AS pos FROM herald_events ORDER BY tx_id, global_position OFFSET ${EVENTS / 2} LIMIT 1`,
    );
    middle = checkpoint(mid.rows[0]!);
    const midTime = await db.query<{ us: string }>(
      `SELECT (extract(epoch FROM recorded_at) * 1000000)::bigint::text AS us FROM herald_events
        ORDER BY tx_id, global_position OFFSET ${EVENTS / 2} LIMIT 1`,
    );
    middleUs = midTime.rows[0]!.us;
    const ids = await db.query<{ id: string }>(
      `SELECT event_id::text AS id FROM herald_events ORDER BY global_position DESC LIMIT 100`,
    );
    someIds = ids.rows.map((r) => r.id);
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    await store?.close();
  });

  const checkpoint = (row: { tx: string; pos: string }): Checkpoint =>
    `${BigInt(row.tx).toString(16).padStart(16, '0')}-${BigInt(row.pos).toString(16).padStart(16, '0')}` as Checkpoint;

  /** The queries, each with the most rows of the log it may read. */
  const queries = (): { name: string; query: Query; bound: number }[] => {
    const [headTx, headPos] = decodeCheckpoint(nearHead);
    const [midTx, midPos] = decodeCheckpoint(middle);
    return [
      {
        name: 'a follower at the head (the tail)',
        query: readPageQuery(headTx, headPos, 1000, 1000, undefined),
        bound: 60,
      },
      {
        name: 'a filtered follower at the head',
        query: readPageQuery(headTx, headPos, 100, 400, {
          eventTypes: ['MemberJoined'],
          streamPrefixes: [streamPrefixOf('conversation')],
        }),
        bound: 60,
      },
      { name: 'a catch-up page mid-log', query: readPageQuery(midTx, midPos, 1000, 1000, undefined), bound: 1_001 },
      {
        name: 'a filtered catch-up page mid-log',
        query: readPageQuery(midTx, midPos, 100, 400, { eventTypes: ['MemberJoined'] }),
        bound: 401,
      },
      { name: 'a stream forwards', query: readStreamQuery(streams[7]!, false, 0, 0, undefined, 100), bound: 100 },
      { name: 'a stream backwards', query: readStreamQuery(streams[7]!, true, 1_000_000, 0, 3600, 100), bound: 100 },
      { name: "a stream's state", query: streamStateQuery(streams[7]!), bound: 1 },
      {
        name: 'the revisions and newest hashes of an append',
        query: { text: streamHeadsSql('$1::text[]'), values: [streams.slice(0, 20)] },
        bound: 20,
      },
      {
        name: 'the event ids of an append',
        query: { text: recordedEventsSql('$1::uuid[]'), values: [someIds] },
        bound: 100,
      },
      { name: 'the head checkpoint', query: headCheckpointQuery(), bound: 1 },
      {
        name: 'an audit window of the log mid-log, filtered',
        query: auditLogByCheckpointQuery(
          { tx: midTx.toString(), pos: midPos.toString() },
          { tx: headTx.toString(), pos: headPos.toString() },
          2_000,
          { eventTypes: ['MemberJoined'], actorId: 'u7' },
        ),
        bound: 2_000,
      },
      {
        name: 'a narrow audit range at the head',
        query: auditLogByCheckpointQuery(
          { tx: headTx.toString(), pos: headPos.toString() },
          { tx: (2n ** 62n).toString(), pos: '0' },
          2_000,
          {},
        ),
        bound: 60,
      },
      {
        name: 'an audit time range mid-log',
        query: auditLogByTimeQuery(
          { tx: '0', pos: '0', recordedUs: middleUs },
          (BigInt(middleUs) + 1n).toString(),
          { tx: headTx.toString(), pos: headPos.toString() },
          2_000,
          { streamPrefixes: [streamPrefixOf('conversation')] },
        ),
        bound: 2_000,
      },
      {
        name: 'an audit window of one stream',
        query: auditStreamQuery(
          streams[7]!,
          -1,
          100,
          { after: { tx: '0', pos: '0' }, upTo: { tx: headTx.toString(), pos: headPos.toString() } },
          { actorId: 'u7' },
        ),
        bound: 100,
      },
      {
        name: 'the events after a checkpoint (lag)',
        query: countEventsAfterQuery(headTx, headPos, 100_000),
        bound: 60,
      },
    ];
  };

  const check = async (): Promise<void> => {
    for (const { name, query, bound } of queries()) {
      const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
        text: `EXPLAIN (ANALYZE, FORMAT JSON) ${query.text}`,
        values: query.values,
      });
      const reads = logReads(rows[0]!['QUERY PLAN'][0].Plan);
      expect(reads.length, name).toBeGreaterThan(0);
      for (const read of reads) {
        expect(read.type, name).not.toBe('Seq Scan');
        // The bound, plus the one row the horizon check reads at the end of the index.
        expect(read.rows, `${name}: ${read.type} read ${read.rows} rows of the log`).toBeLessThanOrEqual(bound + 1);
      }
    }
  };

  it('with statistics taken when the log was nearly empty', async () => {
    const { rows } = await db.query<{ n: number }>(
      `SELECT reltuples::int AS n FROM pg_class WHERE relname = 'herald_events'`,
    );
    expect(rows[0]!.n).toBeLessThan(100);
    await check();
  });

  it('with fresh statistics', async () => {
    await db.query('ANALYZE herald_events');
    await check();
  });

  it('the store reads the same pages through these queries', async () => {
    const tail = await store.readAll({ from: nearHead, limit: 1000 });
    expect(tail.events).toHaveLength(50);
    const filtered = await store.readAll({ from: middle, limit: 100, filter: { eventTypes: ['MemberJoined'] } });
    expect(filtered.events).toHaveLength(40); // every tenth of the 400 scanned
    expect(filtered.events.every((e) => e.type === 'MemberJoined')).toBe(true);
  });
});
