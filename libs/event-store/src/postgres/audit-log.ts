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
import { AUDIT_WINDOW } from '../audit-log.js';
import type { AuditEvent, AuditLines, AuditLogQuery, AuditStreamPage } from '../types.js';
import { guard } from './guard.js';
import {
  auditLogByCheckpointQuery,
  auditLogByTimeQuery,
  auditStreamQuery,
  auditWindowEndsQuery,
  headCheckpointQuery,
  type AuditFilter,
  type AuditPosition,
} from './log-queries.js';

/** An audit window (log-queries.ts auditWindow): its lines, and where it ended (null when empty). */
interface AuditWindow {
  scanned: number;
  hits: number;
  tx: string | null;
  pos: string | null;
  revision: string | null;
  recorded_us: string | null;
  lines: string | null;
}

type Last = Pick<AuditWindow, 'tx' | 'pos' | 'revision' | 'recorded_us'>;

const MAX_POSITION: AuditPosition = { tx: (2n ** 63n - 1n).toString(), pos: (2n ** 63n - 1n).toString() };

const position = (checkpoint: Checkpoint): AuditPosition => {
  const [tx, pos] = decodeCheckpoint(checkpoint);
  return { tx: tx.toString(), pos: pos.toString() };
};

const micros = (date: Date): string => (BigInt(date.getTime()) * 1000n).toString();

export interface AuditReadOptions {
  /**
   * How many windows of a log read in checkpoint order PostgreSQL builds at once, each on a
   * connection of the pool (building the lines is the read's cost, and one backend builds
   * them on one core); the lines still go out in log order. 1 (the default, the API's): one
   * window read ahead.
   */
  readonly windowsAtOnce?: number;
  /**
   * Rows a window of a log read in checkpoint order scans (default AUDIT_WINDOW): a smaller
   * one keeps the process's memory lower (its lines and the buffers they pass through), for
   * a statement more per window.
   */
  readonly window?: number;
}

export class PostgresAuditLog {
  constructor(
    private readonly pool: pg.Pool,
    private readonly options: AuditReadOptions = {},
  ) {}

  /** The newest checkpoint every reader can see (nothing can commit behind it). */
  async head(): Promise<Checkpoint> {
    return guard(async () => {
      const { rows } = await this.pool.query<{ tx: string; pos: string }>(headCheckpointQuery());
      const row = rows[0];
      return row ? encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)) : START;
    });
  }

  /** A page of one stream after `afterRevision` (-1: from its start), with the cursor of the next. */
  async streamPage(streamId: string, afterRevision: number, limit: number): Promise<AuditStreamPage> {
    const window = await guard(async () => {
      const query = auditStreamQuery(
        streamId,
        afterRevision,
        limit + 1,
        { after: position(START), upTo: MAX_POSITION },
        {},
      );
      return (await this.pool.query<AuditWindow>(query)).rows[0]!;
    });
    const lines = window.lines === null ? [] : window.lines.trimEnd().split('\n');
    const events = lines.slice(0, limit).map((line) => JSON.parse(line) as AuditEvent);
    return { events, nextCursor: lines.length > limit ? events[events.length - 1]!.revision : null };
  }

  /**
   * The log (or the part the query selects) as NDJSON, one chunk of lines per window; the
   * caller pulls the next window only when it has written this one (backpressure). `count`
   * is told how many events each chunk held. The head is read before the lines are
   * returned, so an unreachable store fails the call, not a stream already begun.
   */
  async ndjson(query: AuditLogQuery, count: (events: number) => void = () => undefined): Promise<AuditLines> {
    if (query.after !== undefined && (query.since !== undefined || query.until !== undefined)) {
      throw new RangeError('a time range cannot start after a checkpoint too');
    }
    const head = await this.head();
    return this.lines(query, head, count);
  }

  private async *lines(
    query: AuditLogQuery,
    head: Checkpoint,
    count: (events: number) => void,
  ): AsyncGenerator<string> {
    const upTo = position(query.upTo !== undefined && query.upTo < head ? query.upTo : head);
    const after = position(query.after ?? START);
    const filter: AuditFilter = {
      ...(query.eventTypes ? { eventTypes: query.eventTypes } : {}),
      ...(query.streamPrefixes ? { streamPrefixes: query.streamPrefixes } : {}),
      ...(query.actorId !== undefined ? { actorId: query.actorId } : {}),
    };
    const window = (next: (last: Last | undefined) => pg.QueryConfig) => this.windows(next, count);
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
      // Every row's transaction id and position are above 0: this starts at `since` itself.
      const start = { tx: '0', pos: '0', recordedUs: query.since ? micros(query.since) : '-62135596800000000' };
      yield* window((last) =>
        auditLogByTimeQuery(
          last ? { tx: last.tx!, pos: last.pos!, recordedUs: last.recorded_us! } : start,
          untilUs,
          upTo,
          AUDIT_WINDOW,
          filter,
        ),
      );
    } else if ((this.options.windowsAtOnce ?? 1) > 1) {
      yield* this.windowsAtOnce(after, upTo, filter, count);
    } else {
      yield* window((last) =>
        auditLogByCheckpointQuery(last ? { tx: last.tx!, pos: last.pos! } : after, upTo, AUDIT_WINDOW, filter),
      );
    }
  }

  /**
   * The log in checkpoint order with several windows built at once: where the next windows
   * end is found first (an index-only scan), then each window (its rows after the previous
   * end, through its own) is built by a connection of its own, and the lines are yielded in
   * order. The same rows, in the same order, as one window after another.
   */
  private async *windowsAtOnce(
    after: AuditPosition,
    upTo: AuditPosition,
    filter: AuditFilter,
    count: (events: number) => void,
  ): AsyncGenerator<string> {
    const atOnce = this.options.windowsAtOnce!;
    const size = this.options.window ?? AUDIT_WINDOW;
    const read = <T extends pg.QueryResultRow>(query: pg.QueryConfig): Promise<T[]> => {
      const reading = guard(async () => (await this.pool.query<T>(query)).rows);
      // A reader that stops early leaves windows unawaited: their failure must not become
      // an unhandled rejection. Awaited, they still throw.
      reading.catch(() => undefined);
      return reading;
    };
    const building: Promise<AuditWindow[]>[] = [];
    let ends: AuditPosition[] = [];
    let from = after;
    let done = false;
    /** Starts windows until `atOnce` are being built; the last one ends at upTo. */
    const fill = async (): Promise<void> => {
      while (!done && building.length < atOnce) {
        if (ends.length === 0) {
          ends = await read<{ tx: string; pos: string }>(auditWindowEndsQuery(from, upTo, size, 16));
        }
        const end = ends.shift();
        building.push(read<AuditWindow>(auditLogByCheckpointQuery(from, end ?? upTo, size, filter)));
        if (end) from = end;
        else done = true;
      }
    };
    await fill();
    while (building.length > 0) {
      const [window] = await building.shift()!;
      await fill();
      if (window?.lines != null) {
        count(window.hits);
        yield window.lines;
      }
    }
  }

  private async *windows(
    next: (last: Last | undefined) => pg.QueryConfig,
    count: (events: number) => void,
  ): AsyncGenerator<string> {
    const read = (query: pg.QueryConfig): Promise<AuditWindow> => {
      const reading = guard(async () => (await this.pool.query<AuditWindow>(query)).rows[0]!);
      // A reader that stops early (a client gone) leaves the window read ahead unawaited:
      // its failure must not become an unhandled rejection. Awaited, it still throws.
      reading.catch(() => undefined);
      return reading;
    };
    let reading = read(next(undefined));
    for (;;) {
      const window = await reading;
      const full = window.scanned === AUDIT_WINDOW;
      // The next window is asked for before this one is written out: PostgreSQL builds it
      // while this process writes (one window ahead, so memory stays bounded).
      if (full) reading = read(next(window));
      if (window.lines !== null) {
        count(window.hits);
        yield window.lines;
      }
      if (!full) return;
    }
  }
}
