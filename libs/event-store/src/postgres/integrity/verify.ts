/**
 * `herald verify`'s check (ADR 030), on the PostgreSQL log. A pass over the log in
 * checkpoint order, in keyset pages (constant memory), checks both:
 * - each event's chain link: its hash recomputed from its stored content and its stream
 *   predecessor's stored hash (found in a bounded cache of streams seen, or looked up for a
 *   page at once) equals its stored hash; a missing predecessor is a deleted event;
 * - each seal: the Merkle root over its range's events, its count, its hash, and its link to
 *   the previous seal; and a digest the auditor kept, when given, equals its seal.
 * The range is split by whole seals into segments checked side by side in worker threads
 * (verify-segment.ts; each segment links its first seal to the stored seal before it, and
 * looks up its first events' predecessors), and their results are put together as one pass
 * in checkpoint order would have found them: the first broken link in the log, with what
 * was checked before it. One stream alone is checked in revision order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { encodeCheckpoint, START } from '../../checkpoint.js';
import { verifyStreamChain, type VerifyOptions, type VerifyReport } from '../../integrity/verify-chain.js';
import { readChainRows } from '../chain-reader.js';
import { headCheckpointQuery } from '../log-queries.js';
import { querySeals } from './seals.js';
import {
  verifySegment,
  verifySegmentAlone,
  type Segment,
  type SegmentResult,
  type WorkerMessage,
} from './verify-segment.js';

const PAGE = 10_000;

export async function verifyLog(
  pool: pg.Pool,
  connectionString: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const client = await pool.connect();
  try {
    if (options.stream !== undefined) return await verifyStream(client, options);
    return await verifyRange(pool, client, connectionString, options);
  } finally {
    client.release();
  }
}

/** One stream: the same check as every adapter's (integrity/verify-chain.ts), on this connection. */
function verifyStream(client: pg.PoolClient, options: VerifyOptions): Promise<VerifyReport> {
  const reader = {
    readChain: (streamId: string, o: { from?: number; limit?: number } = {}) =>
      readChainRows(client, streamId, o.from ?? 0, o.limit ?? PAGE),
  };
  return verifyStreamChain(reader, options.stream!, options);
}

/** A checkpoint range widened to whole seals, split into segments of whole seals. */
async function verifyRange(
  pool: pg.Pool,
  client: pg.PoolClient,
  connectionString: string,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const head = (await client.query<{ tx: string; pos: string }>(headCheckpointQuery())).rows[0];
  const headCheckpoint = head ? encodeCheckpoint(BigInt(head.tx), BigInt(head.pos)) : START;
  let from: string = options.digest ? START : (options.from ?? START);
  let to: string = options.to && options.to < headCheckpoint ? options.to : headCheckpoint;
  if (options.to === undefined) {
    // Through the newest seal at least: a log that ends before it lost events.
    const newest = (await querySeals(client, 'ORDER BY seal_number DESC LIMIT 1', []))[0];
    if (newest && newest.lastCheckpoint > to) to = newest.lastCheckpoint;
  }
  // Whole seals: the range starts where the seal holding its first event starts…
  const firstSeal = (await querySeals(client, 'WHERE last_checkpoint > $1 ORDER BY seal_number LIMIT 1', [from]))[0];
  if (firstSeal && firstSeal.afterCheckpoint < from) from = firstSeal.afterCheckpoint;
  // …and ends where the seal holding its last event ends.
  const lastSeal = (await querySeals(client, 'WHERE last_checkpoint >= $1 ORDER BY seal_number LIMIT 1', [to]))[0];
  if (lastSeal && lastSeal.afterCheckpoint < to && lastSeal.lastCheckpoint > to) to = lastSeal.lastCheckpoint;
  if (options.digest && options.digest.lastCheckpoint > to) to = options.digest.lastCheckpoint;

  const total = from === START && options.to === undefined ? await estimatedEvents(client) : undefined;
  let linkTo: Segment['linkTo'];
  if (firstSeal && firstSeal.number > 1) {
    const before = (await querySeals(client, 'WHERE seal_number = $1', [firstSeal.number - 1]))[0];
    if (before) linkTo = { number: before.number, hash: before.sealHash, last: before.lastCheckpoint };
  }
  const whole: Segment = {
    from,
    to,
    firstSeal: firstSeal?.number ?? Number.MAX_SAFE_INTEGER,
    ...(linkTo ? { linkTo } : {}),
    ...(options.digest ? { digest: options.digest } : {}),
    final: true,
  };
  const threads = Math.max(1, Math.floor(options.threads ?? availableParallelism()));
  const segments = firstSeal && threads > 1 ? await split(client, whole, threads) : [whole];

  let checked = 0;
  const onEvents = (n: number): void => {
    checked += n;
    options.onProgress?.(checked, total);
  };
  let runs: SegmentRun[];
  if (segments.length === 1) {
    // One segment: checked here, on the pool's two connections (one reads ahead, one looks up).
    const lookups = await pool.connect();
    try {
      const result = await verifySegment(client, lookups, whole, onEvents);
      runs = [{ result: Promise.resolve(result), stop: () => Promise.resolve() }];
    } finally {
      lookups.release();
    }
  } else {
    runs = segments.map((segment) =>
      FROM_SOURCES ? sideBySide(connectionString, segment, onEvents) : inWorker(connectionString, segment, onEvents),
    );
  }

  // Put together as one pass would have: the first segment with a broken link decides.
  let events = 0;
  let seals = 0;
  let unsealed = 0;
  try {
    for (const [k, run] of runs.entries()) {
      const r = await run.result;
      events += r.events;
      seals += r.seals;
      unsealed += r.unsealed;
      if (!r.broken) {
        // One pass would have met the next segment's first row before closing these seals.
        const n = runs[k + 1] ? await runs[k + 1]!.result : undefined;
        if (n?.broken && n.brokenAt === 'first-row') {
          return { ok: false, events, seals: seals - r.sealsAtEnd, unsealed, from, to, broken: n.broken };
        }
        continue;
      }
      let broken = r.broken;
      // A seal found broken as its segment ended is closed by one pass only after it has
      // checked the next event, the next segment's first: a broken link there comes first.
      const next = r.brokenAt === 'end' ? runs[k + 1] : undefined;
      if (next) {
        const n = await next.result;
        if (n.broken && n.brokenAt === 'first-row') {
          broken = n.broken;
          seals -= r.sealsAtEnd;
        }
      }
      return { ok: false, events, seals, unsealed, from, to, broken };
    }
    return { ok: true, events, seals, unsealed, from, to };
  } finally {
    await Promise.all(runs.map((run) => run.stop()));
  }
}

/**
 * Segments of about equal counts of sealed events, cut only between seals that follow each
 * other (the next seal numbered one more and starting where the previous ends): a cut
 * elsewhere would make a segment's check of its first seal's link differ from one pass's.
 * Events after the newest seal go with the last segment.
 */
export async function split(client: pg.ClientBase, whole: Segment, threads: number): Promise<Segment[]> {
  const { rows } = await client.query<{ n: string; after: string; last: string; count: number }>(
    `SELECT seal_number::text AS n, after_checkpoint AS after, last_checkpoint AS last, event_count AS count
       FROM herald_seals WHERE seal_number >= $1 AND last_checkpoint <= $2 ORDER BY seal_number`,
    [whole.firstSeal, whole.to],
  );
  const seals = rows.map((r) => ({ number: Number(r.n), after: r.after, last: r.last, count: r.count }));
  const total = seals.reduce((n, s) => n + s.count, 0);
  const cuts: number[] = [];
  let sum = 0;
  const candidates: { index: number; sum: number }[] = [];
  for (const [i, seal] of seals.entries()) {
    sum += seal.count;
    const next = seals[i + 1];
    if (next && next.number === seal.number + 1 && next.after === seal.last && seal.last > whole.from) {
      candidates.push({ index: i, sum });
    }
  }
  for (let j = 1; j < threads; j++) {
    const target = (total * j) / threads;
    let best: { index: number; sum: number } | undefined;
    for (const c of candidates) {
      if (cuts.length > 0 && c.index <= cuts[cuts.length - 1]!) continue;
      if (!best || Math.abs(c.sum - target) < Math.abs(best.sum - target)) best = c;
    }
    if (best) cuts.push(best.index);
  }
  if (cuts.length === 0) return [whole];
  const segments: Segment[] = [];
  let from = whole.from;
  let firstSeal = whole.firstSeal;
  let linkTo = whole.linkTo;
  for (const index of cuts) {
    const seal = seals[index]!;
    const stored = (await querySeals(client, 'WHERE seal_number = $1', [seal.number]))[0]!;
    segments.push({
      from,
      to: seal.last,
      firstSeal,
      ...(linkTo ? { linkTo } : {}),
      ...(whole.digest ? { digest: whole.digest } : {}),
      final: false,
    });
    from = seal.last;
    firstSeal = seal.number + 1;
    // What one pass would link the next seal to once this one checked out (if it does not,
    // this segment reports it first).
    linkTo = { number: stored.number, hash: stored.sealHash, last: stored.lastCheckpoint };
  }
  segments.push({ ...whole, from, firstSeal, ...(linkTo ? { linkTo } : {}) });
  return segments;
}

interface SegmentRun {
  readonly result: Promise<SegmentResult>;
  stop(): Promise<void>;
}

/**
 * Run from the TypeScript sources (the test suite), a worker thread could not load them:
 * the segments are then checked side by side in this thread, on connections of their own —
 * the same segments, put together the same way. The built code (dist/, what `herald
 * verify` runs, and the CLI's end-to-end tests) checks each in a worker thread.
 */
const FROM_SOURCES = import.meta.url.endsWith('.ts');

function sideBySide(connectionString: string, segment: Segment, onEvents: (n: number) => void): SegmentRun {
  const result = verifySegmentAlone(connectionString, segment, onEvents);
  result.catch(() => undefined);
  // Not stopped early: it ends with its segment.
  return {
    result,
    stop: () =>
      result.then(
        () => undefined,
        () => undefined,
      ),
  };
}

/** A segment checked in a worker thread of its own, on its own two connections. */
function inWorker(connectionString: string, segment: Segment, onEvents: (n: number) => void): SegmentRun {
  const worker = new Worker(new URL('./verify-worker.js', import.meta.url), {
    workerData: { connectionString, segment },
  });
  let settled = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const result = new Promise<SegmentResult>((resolve, reject) => {
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'progress') onEvents(message.events);
      else if (message.kind === 'done') {
        settled = true;
        resolve(message.result);
      } else {
        settled = true;
        reject(new Error(message.error));
      }
    });
    worker.on('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`a verify worker stopped (exit code ${code}) before its result`));
    });
  });
  // Awaited in segment order; one left unread when an earlier segment decides must not go unhandled.
  result.catch(() => undefined);
  return {
    result,
    // A worker that answered closes its connections and ends by itself (terminating one
    // while it does can abort the process); one still checking is no longer needed.
    stop: async () => {
      if (!settled) await worker.terminate();
      await exited;
    },
  };
}

async function estimatedEvents(client: pg.PoolClient): Promise<number | undefined> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = 'herald_events'::regclass`,
  );
  const n = Number(rows[0]?.n ?? 0);
  return n > 0 ? n : undefined;
}
