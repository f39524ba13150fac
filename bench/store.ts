/**
 * `npm run bench:store`: the event store on PostgreSQL (embedded unless DATABASE_URL is set).
 *
 * Per run: 256 concurrent appenders each append single events with an exact expected
 * revision to streams of their own (1,000 streams in all); then readAll over everything
 * written, then a subscription catching up from the start. Before that, in the same go, a
 * baseline: plain multi-row INSERTs and one-row transactions into a scratch table, so the
 * figures can be compared on a noisy machine. Several runs; the table shows each run and
 * the medians; the last line is one JSON object with the median headline figures.
 *
 * Then the cost of a read against the log's size (issue 12), on a log of its own: a follower
 * at the head reading the newest events, when the log holds 10,000 events and when it holds
 * 1,000,000 (grown without analyzing: the statistics still describe the small log, as on a
 * young deployment; then again with fresh statistics), and catch-up from position 0 (the
 * whole small log; the first 200,000 events of the large one).
 *
 * Then, when EVENTSTORE_URL names an EventStoreDB / KurrentDB server, the same append,
 * readAll and catch-up phases against the EventStoreDB adapter (its figures under
 * `eventStoreDb` in the JSON line); otherwise that part is reported as not run, with the reason.
 *
 * Environment: BENCH_RUNS (3), BENCH_SECONDS (10, append phase per run), DATABASE_URL,
 * BENCH_LARGE_LOG (1000000), EVENTSTORE_URL.
 */
import { configFromProcess } from '@herald/config';
import { createPool } from '@herald/database';
import {
  encodeCheckpoint,
  EventStoreDbEventStore,
  PostgresEventStore,
  START,
  type Checkpoint,
  type EventStore,
  type NewEvent,
} from '@herald/event-store';
import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { benchDatabase, machine, percentile, report, round } from './report.js';

const APPENDERS = 256;
const STREAMS = 1_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SMALL_LOG = 10_000;
const LARGE_LOG = Number(process.env.BENCH_LARGE_LOG ?? 1_000_000);
const LARGE_CATCH_UP = 200_000;
const HEAD_READS = 300;

type RunFigures = {
  appendsPerSec: number;
  appendP50Ms: number;
  appendP99Ms: number;
  readAllPerSec: number;
  catchUpPerSec: number;
  baselineBatchedInsertRowsPerSec: number;
  baselineRowPerTxPerSec: number;
};

function message(actor: string): NewEvent {
  return {
    eventId: randomUUID(),
    type: 'MessageSent',
    schemaVersion: 1,
    data: {
      messageId: randomUUID(),
      senderId: actor,
      text: 'The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog.',
      mentions: [],
    },
    metadata: {
      actorId: actor,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date().toISOString(),
      clientMessageId: randomUUID(),
    },
  };
}

async function appendPhase(
  store: EventStore,
  run: number,
): Promise<{ count: number; seconds: number; latencies: number[] }> {
  const streams = Array.from({ length: STREAMS }, (_, s) => `benchrun${run}x${randomUUID().slice(0, 8)}-${s}`);
  const revisions = new Map<string, number>();
  const latencies: number[] = [];
  let count = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: APPENDERS }, async (_, a) => {
      // Appender `a` owns streams a, a+256, a+512, ...
      const own = streams.filter((_, s) => s % APPENDERS === a);
      for (let i = 0; performance.now() < deadline; i++) {
        const streamId = own[i % own.length]!;
        const expected = revisions.get(streamId) ?? 'no_stream';
        const t0 = performance.now();
        // eslint-disable-next-line no-restricted-syntax -- an actor id, not a stream name
        const result = await store.append(streamId, [message(`user-${a}`)], expected);
        latencies.push(performance.now() - t0);
        revisions.set(streamId, result.nextExpectedRevision);
        count++;
      }
    }),
  );
  return { count, seconds: (performance.now() - started) / 1000, latencies };
}

async function readAllPhase(store: EventStore, from: Checkpoint): Promise<{ count: number; seconds: number }> {
  let checkpoint = from;
  let count = 0;
  const started = performance.now();
  for (;;) {
    const page = await store.readAll({ from: checkpoint, limit: 5_000 });
    if (page.events.length === 0) break;
    count += page.events.length;
    checkpoint = page.checkpoint;
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

async function catchUpPhase(
  store: EventStore,
  from: Checkpoint,
  head: Checkpoint,
): Promise<{ count: number; seconds: number }> {
  const controller = new AbortController();
  let count = 0;
  const started = performance.now();
  for await (const page of store.subscribeToAll({ from, limit: 5_000, signal: controller.signal })) {
    count += page.events.length;
    if (page.checkpoint >= head) controller.abort();
  }
  return { count, seconds: (performance.now() - started) / 1000 };
}

/** Grows the log to `size` events with plain inserts, 10,000 rows a transaction. */
async function growLog(pool: pg.Pool, size: number): Promise<void> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM herald_events');
  const text = 'The quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps over the lazy dog.';
  for (let done = rows[0]!.n; done < size; done += 10_000) {
    await pool.query(
      `INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
       SELECT 'conversation-size' || (n % 10000), n / 10000, gen_random_uuid(), 'MessageSent', 1,
              json_build_object('messageId', gen_random_uuid(), 'senderId', 'u' || (n % 997), 'text', $1::text),
              json_build_object('actorId', 'u' || (n % 997), 'correlationId', gen_random_uuid(),
                                'causationId', gen_random_uuid(), 'occurredAt', now())
         FROM generate_series($2::int, $3::int) AS n`,
      [text, done, Math.min(done + 10_000, size) - 1],
    );
  }
}

/** The median time of a follower's read at the head: the newest 10 events. */
async function headReadP50(store: PostgresEventStore, pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ tx: string; pos: string }>(
    `SELECT tx_id::text AS tx, global_position::text AS pos FROM herald_events
      ORDER BY tx_id DESC, global_position DESC OFFSET 10 LIMIT 1`,
  );
  const from = encodeCheckpoint(BigInt(rows[0]!.tx), BigInt(rows[0]!.pos));
  const times: number[] = [];
  for (let i = 0; i < HEAD_READS; i++) {
    const t0 = performance.now();
    const page = await store.readAll({ from, limit: 1_000 });
    times.push(performance.now() - t0);
    if (page.events.length !== 10) throw new Error(`a head read found ${page.events.length} events, not 10`);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

/** Events per second reading the log from position 0 in pages of 1,000, up to `max` events. */
async function catchUpFromStart(store: PostgresEventStore, max: number): Promise<number> {
  let from = START;
  let count = 0;
  const started = performance.now();
  while (count < max) {
    const page = await store.readAll({ from, limit: 1_000 });
    if (page.events.length === 0) break;
    count += page.events.length;
    from = page.checkpoint;
  }
  return count / ((performance.now() - started) / 1000);
}

type SizeFigures = {
  headReadP50MsSmallLog: number;
  headReadP50MsLargeLog: number;
  headReadP50MsLargeLogFreshStatistics: number;
  catchUpPerSecSmallLog: number;
  catchUpPerSecLargeLog: number;
};

/** Read costs against the log's size, on a database of its own. */
async function logSizePhase(url: string): Promise<SizeFigures[]> {
  const admin = createPool({ connectionString: url, max: 1 });
  const name = `bench_log_size_${randomUUID().slice(0, 8)}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const sizeUrl = new URL(url);
  sizeUrl.pathname = `/${name}`;
  const store = new PostgresEventStore({ connectionString: sizeUrl.toString(), poolSize: 2 });
  await store.migrate();
  const pool = createPool({ connectionString: sizeUrl.toString(), max: 1 });
  await pool.query('ALTER TABLE herald_events SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)');
  await growLog(pool, SMALL_LOG);
  await pool.query('VACUUM ANALYZE herald_events');
  const small: { head: number; catchUp: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    small.push({ head: await headReadP50(store, pool), catchUp: await catchUpFromStart(store, SMALL_LOG) });
  }
  console.log(`log size: growing the log to ${LARGE_LOG} events (statistics left as they were at ${SMALL_LOG})`);
  await growLog(pool, LARGE_LOG);
  const large: { head: number; catchUp: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    large.push({ head: await headReadP50(store, pool), catchUp: await catchUpFromStart(store, LARGE_CATCH_UP) });
  }
  await pool.query('VACUUM ANALYZE herald_events');
  const fresh: number[] = [];
  for (let run = 0; run < RUNS; run++) fresh.push(await headReadP50(store, pool));
  await pool.end();
  await store.close();
  return small.map((s, run) => ({
    headReadP50MsSmallLog: round(s.head, 3),
    headReadP50MsLargeLog: round(large[run]!.head, 3),
    headReadP50MsLargeLogFreshStatistics: round(fresh[run]!, 3),
    catchUpPerSecSmallLog: round(s.catchUp),
    catchUpPerSecLargeLog: round(large[run]!.catchUp),
  }));
}

/** What PostgreSQL itself does on this machine: multi-row inserts, and one row per transaction. */
async function baseline(url: string): Promise<{ batched: number; perTx: number }> {
  const pool = createPool({ connectionString: url, max: 8 });
  const table = `bench_baseline_${randomUUID().slice(0, 8)}`;
  await pool.query(
    `CREATE TABLE ${table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream text, data json)`,
  );
  const payload = JSON.stringify(message('u'));
  const rows = 500;
  let batchedRows = 0;
  let started = performance.now();
  const until = (ms: number): number => performance.now() + ms;
  let end = until(3_000);
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (performance.now() < end) {
        await pool.query(`INSERT INTO ${table} (stream, data) SELECT 's', $1::json FROM generate_series(1, ${rows})`, [
          payload,
        ]);
        batchedRows += rows;
      }
    }),
  );
  const batched = batchedRows / ((performance.now() - started) / 1000);
  let single = 0;
  started = performance.now();
  end = until(3_000);
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < end) {
        await pool.query(`INSERT INTO ${table} (stream, data) VALUES ('s', $1::json)`, [payload]);
        single++;
      }
    }),
  );
  const perTx = single / ((performance.now() - started) / 1000);
  await pool.query(`DROP TABLE ${table}`);
  await pool.end();
  return { batched, perTx };
}

type StoreFigures = Pick<
  RunFigures,
  'appendsPerSec' | 'appendP50Ms' | 'appendP99Ms' | 'readAllPerSec' | 'catchUpPerSec'
>;

/** The append, readAll and catch-up phases on any adapter, RUNS times. */
async function storeRuns(store: EventStore): Promise<StoreFigures[]> {
  const runs: StoreFigures[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const from = await store.headCheckpoint();
    const appended = await appendPhase(store, run);
    const head = await store.headCheckpoint();
    const read = await readAllPhase(store, from);
    const caught = await catchUpPhase(store, from, head);
    const sorted = appended.latencies.sort((a, b) => a - b);
    runs.push({
      appendsPerSec: round(appended.count / appended.seconds),
      appendP50Ms: round(percentile(sorted, 50), 2),
      appendP99Ms: round(percentile(sorted, 99), 2),
      readAllPerSec: round(read.count / read.seconds),
      catchUpPerSec: round(caught.count / caught.seconds),
    });
    if (read.count < appended.count) throw new Error(`readAll saw ${read.count} of ${appended.count} events`);
  }
  return runs;
}

/** The EventStoreDB adapter's figures, or why they were not measured. */
async function eventStoreDbPhase(): Promise<StoreFigures | { notRun: string }> {
  const url = process.env.EVENTSTORE_URL;
  if (!url) {
    console.log('\nEventStoreDB: not run (EVENTSTORE_URL is not set)');
    return { notRun: 'EVENTSTORE_URL is not set' };
  }
  console.log(`\nEventStoreDB adapter: ${APPENDERS} appenders, ${STREAMS} streams, ${SECONDS}s per run, ${RUNS} runs`);
  const store = new EventStoreDbEventStore({ connectionString: url });
  try {
    return report(await storeRuns(store));
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const config = configFromProcess();
  const database = await benchDatabase(config.databaseUrl);
  const url = database.url;
  const store = new PostgresEventStore({
    connectionString: url,
    poolSize: 12,
    maxConcurrentBatches: Number(process.env.MCB ?? 3),
  });
  await store.migrate();
  console.log(machine());
  console.log(
    `database: ${database.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}; ${APPENDERS} appenders, ${STREAMS} streams, ${SECONDS}s per run, ${RUNS} runs\n`,
  );

  const runs: RunFigures[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const base = await baseline(url);
    const from = await store.headCheckpoint();
    const appended = await appendPhase(store, run);
    const head = await store.headCheckpoint();
    const read = await readAllPhase(store, from);
    const caught = await catchUpPhase(store, from, head);
    const sorted = appended.latencies.sort((a, b) => a - b);
    runs.push({
      appendsPerSec: round(appended.count / appended.seconds),
      appendP50Ms: round(percentile(sorted, 50), 2),
      appendP99Ms: round(percentile(sorted, 99), 2),
      readAllPerSec: round(read.count / read.seconds),
      catchUpPerSec: round(caught.count / caught.seconds),
      baselineBatchedInsertRowsPerSec: round(base.batched),
      baselineRowPerTxPerSec: round(base.perTx),
    });
    if (read.count < appended.count) throw new Error(`readAll saw ${read.count} of ${appended.count} events`);
  }

  const medians = report(runs);
  await store.close();
  const sizes = report(await logSizePhase(url));
  await database.stop();
  const eventStoreDb = await eventStoreDbPhase();
  console.log(
    JSON.stringify({
      appendsPerSec: medians.appendsPerSec,
      appendP50Ms: medians.appendP50Ms,
      appendP99Ms: medians.appendP99Ms,
      readAllPerSec: medians.readAllPerSec,
      catchUpPerSec: medians.catchUpPerSec,
      baselineBatchedInsertRowsPerSec: medians.baselineBatchedInsertRowsPerSec,
      baselineRowPerTxPerSec: medians.baselineRowPerTxPerSec,
      ...sizes,
      headReadLargeOverSmall: round(sizes.headReadP50MsLargeLog / sizes.headReadP50MsSmallLog, 2),
      catchUpLargeOverSmall: round(sizes.catchUpPerSecLargeLog / sizes.catchUpPerSecSmallLog, 2),
      eventStoreDb,
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
