/**
 * Reads of the global log, and the visibility horizon that makes them safe (ADR 001): a
 * reader only sees rows of transactions older than every one still running, so an event
 * that commits late never lands behind a checkpoint a follower passed. The SQL is in
 * log-queries.ts; `pageOfScan` turns what one scan found into the page and the checkpoint
 * a follower continues from.
 */
import type pg from 'pg';
import { decodeCheckpoint, encodeCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import type { ReadAllOptions } from '../types.js';
import { assertReadCheckpoint, readLimit } from '../validation.js';
import { guard } from './guard.js';
import type { TailRead } from './log-tail.js';
import { countEventsAfterQuery, headCheckpointQuery, readPageQuery } from './log-queries.js';
import { toRecordedEvent, type EventRow } from './rows.js';

/** A filtered page scans at most this many times its limit of log entries. */
const SCAN_FACTOR = 4;

/** A row of readPageQuery: a scanned entry, with its event's columns when `keep`. */
export interface PageRow extends EventRow {
  /** The horizon: rows of transactions below it are final. */
  horizon: string;
  /** Committed events wait behind a transaction still running. */
  held: boolean;
  /** A hit of the filter within the limit: the event is returned. */
  keep: boolean;
}

export class LogReader {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * A page of the log; whether committed events wait behind the visibility horizon; and
   * whether the scan reached the horizon (`caughtUp`), so that a follower should wait.
   *
   * The scan walks the log in order and stops after `SCAN_FACTOR × limit` entries even when
   * the filter matched fewer: a filtered page costs the same whatever the filter, and the
   * planner never gets the chance to fetch and sort everything after the checkpoint (which
   * it picks when it misjudges how many rows a filter keeps).
   */
  async readPage(options: ReadAllOptions): Promise<TailRead> {
    const from = options.from ?? START;
    assertReadCheckpoint(from);
    const limit = readLimit(options.limit);
    const scan = options.filter ? limit * SCAN_FACTOR : limit;
    const [tx, pos] = decodeCheckpoint(from);
    return guard(async () => {
      const result = await this.pool.query<PageRow>(readPageQuery(tx, pos, limit, scan, options.filter));
      return pageOfScan(result.rows, from, limit, scan);
    });
  }

  async headCheckpoint(): Promise<Checkpoint> {
    return guard(async () => {
      const { rows } = await this.pool.query<{ tx: string; pos: string }>(headCheckpointQuery());
      const row = rows[0];
      return row ? encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)) : START;
    });
  }

  async countEventsAfter(checkpoint: Checkpoint, max: number): Promise<number> {
    assertReadCheckpoint(checkpoint);
    const [tx, pos] = decodeCheckpoint(checkpoint);
    return guard(async () => {
      const { rows } = await this.pool.query<{ n: number }>(countEventsAfterQuery(tx, pos, max));
      return rows[0]!.n;
    });
  }
}

/**
 * The page a scan from `from` gives (`rows`: readPageQuery's, never empty), and where the
 * reader continues: after its last event when the page is full; else after the last entry
 * it scanned (kept or filtered out), so a filtered reader does not look there again.
 * Never further, up to the horizon: the horizon counts transaction ids that PostgreSQL may
 * hand out again after a crash (those it had not written to its WAL: read models'
 * asynchronous commits, rollbacks), and events appended after the restart would sort
 * below a checkpoint taken there, unseen by the reader that holds it (found by the chaos
 * run: pushes skipped a send after a `kill -9` of PostgreSQL). A scanned row's transaction
 * committed synchronously: every id after a restart is above it.
 */
export function pageOfScan(rows: readonly PageRow[], from: Checkpoint, limit: number, scan: number): TailRead {
  const first = rows[0]!;
  // With nothing scanned, the one row's event columns are null.
  const scanned = first.tx === null ? [] : rows;
  const events = scanned.filter((row) => row.keep).map(toRecordedEvent);
  const caughtUp = scanned.length < scan;
  const last = scanned.at(-1);
  const scannedTo = last ? encodeCheckpoint(BigInt(last.tx), BigInt(last.pos)) : from;
  const checkpoint: Checkpoint = events.length === limit ? events[events.length - 1]!.globalPosition : scannedTo;
  return { page: { events, checkpoint }, held: first.held, caughtUp: caughtUp && events.length < limit };
}
