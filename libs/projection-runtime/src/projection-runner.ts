/**
 * Runs one projection: follows the event log from the projection's checkpoint and applies
 * batches, each in one transaction with the new checkpoint (exactly-once effect).
 *
 * - One instance at a time: a session advisory lock per projection name; other instances
 *   wait in `standby` and take over when the holder goes away. Read-your-writes works on
 *   every instance: a standby's `waitFor` follows the checkpoint the active one stores.
 * - Transient failures (connection lost, deadlock, or what the projection calls transient)
 *   are retried with backoff, forever.
 * - Any other failure is retried a few times, then the batch is applied event by event to
 *   find the event that fails; that event is parked in the dead-letter table and the
 *   projection stops at it (`stopped`) until an operator resolves it. Nothing is skipped
 *   silently.
 */
import { isTransientPgError } from '@herald/database';
import {
  compareCheckpoints,
  maxCheckpoint,
  parseCheckpoint,
  START,
  type Checkpoint,
  type EventStore,
  type RecordedEvent,
} from '@herald/event-store';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { ParkedEvent, Projection, ProjectionState, ProjectionStatus } from './projection.js';

export interface RunnerOptions {
  /** Events per transaction at most. */
  readonly batchSize?: number;
  /** Attempts for a failing batch or event before it is split or parked. */
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often a standby or stopped runner looks again. */
  readonly recheckMs?: number;
  /**
   * How often a runner that is not the active one reads the checkpoint the active instance
   * stored, while someone waits on it (`waitFor`). One read per interval, however many wait.
   */
  readonly standbyPollMs?: number;
  /**
   * At the head of the log (a page smaller than the batch size), how long to let events
   * gather before taking the next page, so that they share one transaction: fewer, larger
   * batches when read-model freshness within this much suffices. Someone waiting on the
   * projection (`waitFor`, read-your-writes) ends the wait at once. Default 0.
   */
  readonly gatherMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface DeadLetterRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  event_type: string;
  error: string;
  attempts: number;
}

/**
 * What a runner that is not the active one learned of the active instance's progress: its
 * read model holds every event up to `through`, and when `pending` is known, nothing the
 * filter keeps lies between the two (so everything before `pending` is as good as applied).
 */
interface Observed {
  readonly through: Checkpoint;
  readonly pending?: Checkpoint;
}

/** How often the lock's connection is checked while pages come. */
const LOCK_CHECK_MS = 1_000;

/**
 * A standby looking for the next event the active instance will apply reads pages of this
 * many events (a filtered page scans four times as many log entries), at most
 * MAX_LOOKS_AHEAD of them per poll: about 2,500 entries, so a waiter keeps up with a log
 * growing tens of thousands of events a second whatever the filter skips.
 */
const LOOK_AHEAD_EVENTS = 64;
const MAX_LOOKS_AHEAD = 10;

class LostLock extends Error {
  constructor(name: string) {
    super(`projection ${name}: another instance moved the checkpoint; this one stands down`);
  }
}

export class ProjectionRunner {
  private state: ProjectionState = 'idle';
  private checkpoint: Checkpoint = START;
  /** Scanned up to here (can be past `checkpoint` when the filter skipped events). */
  private scanned: Checkpoint = START;
  private lastError: string | undefined;
  private failures = 0;
  private parked: ParkedEvent | undefined;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly waiters = new Set<() => void>();
  /** Holds the lock: then `scanned` is the projection's progress, otherwise `observed` is. */
  private active = false;
  private observed: Observed = { through: START };
  /** The one read of the stored checkpoint that waiters on a non-active runner share. */
  private polling: Promise<void> | undefined;
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly recheckMs: number;
  private readonly standbyPollMs: number;
  private readonly gatherMs: number;
  /** Ends the current gathering wait: someone waits on this projection. */
  private endGathering: (() => void) | undefined;
  /** When the lock's connection was last seen alive. */
  private lockCheckedAt = 0;

  constructor(
    private readonly store: EventStore,
    private readonly dataSource: DataSource,
    readonly projection: Projection,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? projection.batchSize ?? 500;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.recheckMs = options.recheckMs ?? 1_000;
    this.standbyPollMs = options.standbyPollMs ?? 50;
    this.gatherMs = options.gatherMs ?? 0;
  }

  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
    this.state = 'idle';
    this.wakeWaiters();
    await this.polling;
  }

  status(): ProjectionStatus {
    return {
      name: this.projection.name,
      state: this.state,
      checkpoint: this.scanned,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.parked ? { parked: this.parked } : {}),
    };
  }

  /**
   * How far the projection's read model is, wherever it runs: this runner's progress when it
   * is the active one, otherwise the checkpoint the active instance stored.
   */
  async position(): Promise<Checkpoint> {
    if (this.active) return this.scanned;
    const rows = await this.dataSource.query<{ checkpoint: string }[]>(
      'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
      [this.projection.name],
    );
    return maxCheckpoint(this.observed.through, rows[0] ? parseCheckpoint(rows[0].checkpoint) : START);
  }

  /**
   * Whether the projection is stopped at a parked event, wherever it runs (the dead letter
   * is shared by the instances): a standby cannot see the active instance's state otherwise.
   */
  async parkedAnywhere(): Promise<boolean> {
    if (this.parked) return true;
    const rows = await this.dataSource.query<{ open: boolean }[]>(
      'SELECT true AS open FROM herald_projection_dead_letters WHERE projection = $1 AND resolved_at IS NULL',
      [this.projection.name],
    );
    return rows.length > 0;
  }

  /** Events in the log after the projection's position (at most `max`). */
  async lag(max = 100_000): Promise<number> {
    return this.store.countEventsAfter(await this.position(), max);
  }

  /**
   * Resolves true once the projection's read model holds everything up to `checkpoint`,
   * false on timeout (or when the runner is not started). On the active instance that is
   * this runner's own progress; on another (standby) it is the checkpoint the active one
   * stored with its read-model rows, which are shared.
   */
  async waitFor(checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!this.reached(checkpoint)) this.endGathering?.();
    while (!this.reached(checkpoint)) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.loop) return false;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
        this.pollStoredWhileWaited();
      });
    }
    return true;
  }

  private reached(checkpoint: Checkpoint): boolean {
    const { through, pending } = this.observed;
    return (
      compareCheckpoints(this.scanned, checkpoint) >= 0 ||
      compareCheckpoints(through, checkpoint) >= 0 ||
      (pending !== undefined && compareCheckpoints(checkpoint, pending) < 0)
    );
  }

  // ------------------------------------------------------- following the active instance

  /**
   * While this runner is not the active one and someone waits, reads the active instance's
   * stored checkpoint every `standbyPollMs`: one loop per runner, whatever the number of
   * waiters, so the database load stays bounded. It ends when nobody waits any more, when
   * this runner becomes the active one (its own progress then wakes the waiters), or on stop.
   */
  private pollStoredWhileWaited(): void {
    const signal = this.controller?.signal;
    if (this.polling || this.active || !signal || signal.aborted) return;
    const poll = async (): Promise<void> => {
      try {
        do {
          try {
            if (await this.observeActive()) this.wakeWaiters();
          } catch {
            // Database unreachable: look again next time; the waiters time out meanwhile.
          }
        } while (!(await sleep(this.standbyPollMs, signal)) && !this.active && this.waiters.size > 0);
      } finally {
        // In the same turn as the last check: a waiter that comes next starts a new loop.
        this.polling = undefined;
      }
    };
    this.polling = poll();
  }

  /** Reads how far the active instance has applied; true when that moved. */
  private async observeActive(): Promise<boolean> {
    const rows = await this.dataSource.query<{ checkpoint: string }[]>(
      'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
      [this.projection.name],
    );
    const stored = rows[0] ? parseCheckpoint(rows[0].checkpoint) : START;
    const known = this.observed;
    let through = maxCheckpoint(known.through, stored);
    let pending = known.pending;
    // The active instance stores a checkpoint only with events it applies, so events its
    // filter skips do not move it: what counts too is the next event it will apply. Looked
    // up again only once the active instance is past the one found before.
    // A filtered page scans a bounded stretch of the log, so the look goes on from where the
    // last one ended (nothing the filter keeps lies between `stored` and `through`) until it
    // finds that event or the head.
    if (pending === undefined || compareCheckpoints(stored, pending) >= 0) {
      pending = undefined;
      let from = maxCheckpoint(stored, through);
      for (let look = 0; look < MAX_LOOKS_AHEAD; look++) {
        const page = await this.store.readAll({
          from,
          limit: LOOK_AHEAD_EVENTS,
          ...(this.projection.filter ? { filter: this.projection.filter } : {}),
        });
        const next = page.events[0];
        if (next) {
          pending = next.globalPosition;
          break;
        }
        through = maxCheckpoint(through, page.checkpoint);
        if (page.checkpoint === from) break;
        from = page.checkpoint;
      }
    }
    if (through === known.through && pending === known.pending) return false;
    this.observed = pending === undefined ? { through } : { through, pending };
    return true;
  }

  // ------------------------------------------------------------------ the loop

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let lock: QueryRunner | undefined;
      try {
        lock = await this.acquireLock(signal);
        if (!lock) break;
        this.active = true;
        if (await this.waitWhileParked(signal)) break;
        await this.follow(signal, lock);
      } catch (error) {
        if (signal.aborted) break;
        // Reset only by a page applied: an error that keeps coming backs off further.
        this.failures++;
        this.lastError = describe(error);
        this.state = error instanceof LostLock ? 'standby' : 'retrying';
        this.log('warn', `projection ${this.projection.name}: ${this.lastError}; retrying`);
        await sleep(this.backoff(this.failures), signal);
      } finally {
        if (this.active) {
          this.active = false;
          // Waiting on this runner's progress is over: they go back to the stored checkpoint.
          this.wakeWaiters();
        }
        await this.releaseLock(lock);
      }
    }
  }

  /** Holds the projection's advisory lock on a dedicated connection; undefined when stopped. */
  private async acquireLock(signal: AbortSignal): Promise<QueryRunner | undefined> {
    while (!signal.aborted) {
      const runner = this.dataSource.createQueryRunner();
      let held = false;
      try {
        await runner.connect();
        const rows = (await runner.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
          `herald.projection:${this.projection.name}`,
        ])) as { locked: boolean }[];
        held = rows[0]?.locked === true;
        if (held) return runner;
      } finally {
        if (!held) await runner.release().catch(() => undefined);
      }
      this.state = 'standby';
      await sleep(this.recheckMs, signal);
    }
    return undefined;
  }

  private async releaseLock(lock: QueryRunner | undefined): Promise<void> {
    if (!lock) return;
    await lock
      .query('SELECT pg_advisory_unlock(hashtext($1))', [`herald.projection:${this.projection.name}`])
      .catch(() => undefined);
    await lock.release().catch(() => undefined);
  }

  /** While an event is parked, waits for an operator; returns true when stopped meanwhile. */
  private async waitWhileParked(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      const rows = await this.dataSource.query<DeadLetterRow[]>(
        `SELECT event_id::text, stream_id, stream_revision::text, event_type, error, attempts
           FROM herald_projection_dead_letters WHERE projection = $1 AND resolved_at IS NULL`,
        [this.projection.name],
      );
      const row = rows[0];
      if (!row) {
        this.parked = undefined;
        return false;
      }
      this.parked = {
        eventId: row.event_id,
        streamId: row.stream_id,
        streamRevision: Number(row.stream_revision),
        eventType: row.event_type,
        error: row.error,
        attempts: row.attempts,
      };
      this.state = 'stopped';
      if (await sleep(this.recheckMs, signal)) return true;
    }
  }

  private async follow(signal: AbortSignal, lock: QueryRunner): Promise<void> {
    this.checkpoint = await this.loadCheckpoint();
    this.advanceScanned(this.checkpoint);
    this.state = 'running';
    this.lastError = undefined;
    this.log('info', `projection ${this.projection.name}: running from ${this.checkpoint}`);
    const pages = readAhead(
      (reading) =>
        this.store.subscribeToAll({
          from: this.checkpoint,
          limit: this.batchSize,
          signal: reading,
          ...(this.projection.filter ? { filter: this.projection.filter } : {}),
        }),
      signal,
      // Catching up, the next page is read while this one is applied; at the head, events
      // first gather for a while.
      (page) => (this.gatherMs > 0 && page.events.length < this.batchSize ? this.gather(signal) : undefined),
    );
    for await (const page of pages) {
      // The lock lives on its own connection: if that connection died, so did the lock.
      // Looked at once a second: meanwhile the checkpoint's compare-and-set is the fence.
      if (Date.now() - this.lockCheckedAt >= LOCK_CHECK_MS) {
        await lock.query('SELECT 1');
        this.lockCheckedAt = Date.now();
      }
      if (page.events.length > 0) {
        const parked = await this.applyWithRetries(page.events, page.checkpoint, signal);
        if (parked || signal.aborted) return;
      }
      this.advanceScanned(page.checkpoint);
      this.failures = 0;
      this.state = 'running';
    }
  }

  /** Returns true when an event was parked (the projection stops at it). */
  private async applyWithRetries(
    events: readonly RecordedEvent[],
    checkpoint: Checkpoint,
    signal: AbortSignal,
  ): Promise<boolean> {
    const result = await this.attempt(events, checkpoint, signal);
    if (result === 'applied' || result === 'stopped') return false;
    if (events.length === 1) {
      await this.park(events[0]!, result);
      return true;
    }
    // Find the event that fails: everything before it is applied, it is parked.
    for (const event of events) {
      const single = await this.attempt([event], event.globalPosition, signal);
      if (single === 'stopped') return false;
      if (single !== 'applied') {
        await this.park(event, single);
        return true;
      }
      this.advanceScanned(event.globalPosition);
    }
    // Every event applied alone (the batch failure was a fluke): store the page's checkpoint.
    const rest = await this.attempt([], checkpoint, signal);
    if (rest instanceof Error) throw rest;
    return false;
  }

  /**
   * Applies a batch, retrying transient errors without limit and others up to
   * `maxAttempts`. Returns the last error when it gave up; `stopped` when the runner was
   * stopped meanwhile (then nothing may be parked: the failure may be the shutdown's).
   */
  private async attempt(
    events: readonly RecordedEvent[],
    checkpoint: Checkpoint,
    signal: AbortSignal,
  ): Promise<'applied' | 'stopped' | Error> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.applyBatch(events, checkpoint);
        this.lastError = undefined;
        return 'applied';
      } catch (error) {
        if (error instanceof LostLock) throw error;
        if (signal.aborted) return 'stopped';
        const err = error instanceof Error ? error : new Error(String(error));
        this.lastError = describe(err);
        const transient = isTransientPgError(err) || this.projection.isTransient?.(err) === true;
        if (!transient && attempt >= this.maxAttempts) return err;
        if (transient) this.state = 'retrying';
        this.log('warn', `projection ${this.projection.name}: batch failed (attempt ${attempt}): ${this.lastError}`);
        if (await sleep(this.backoff(attempt), signal)) return 'stopped';
      }
    }
  }

  private async applyBatch(events: readonly RecordedEvent[], checkpoint: Checkpoint): Promise<void> {
    await this.dataSource.transaction(async (manager: EntityManager) => {
      if (events.length > 0) await this.projection.apply(events, manager);
      // Fence, as a compare-and-set at the end: if another instance moved the checkpoint,
      // this one lost its lock and everything it did here rolls back. Nothing before this
      // statement locks or writes on the runner's behalf, so a slow `apply` that writes
      // nothing to the database (the Kafka relay) takes no transaction id meanwhile and
      // holds back no follower (they read below the oldest running transaction id).
      const [, updated] = await manager.query<[unknown, number]>(
        `UPDATE herald_projection_checkpoints SET checkpoint = $3, updated_at = now()
          WHERE name = $1 AND checkpoint = $2`,
        [this.projection.name, this.checkpoint, checkpoint],
      );
      if (updated !== 1) throw new LostLock(this.projection.name);
    });
    this.checkpoint = checkpoint;
  }

  private async park(event: RecordedEvent, error: Error): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO herald_projection_dead_letters
         (projection, event_id, stream_id, stream_revision, global_position, event_type, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        this.projection.name,
        event.eventId,
        event.streamId,
        event.streamRevision,
        event.globalPosition,
        event.type,
        describe(error),
        this.maxAttempts,
      ],
    );
    this.parked = {
      eventId: event.eventId,
      streamId: event.streamId,
      streamRevision: event.streamRevision,
      eventType: event.type,
      error: describe(error),
      attempts: this.maxAttempts,
    };
    this.state = 'stopped';
    this.log(
      'error',
      `projection ${this.projection.name}: parked event ${event.eventId} (${event.type}) after ${this.maxAttempts} attempts: ${describe(error)}`,
    );
  }

  private async loadCheckpoint(): Promise<Checkpoint> {
    // The row must exist for the compare-and-set fence in applyBatch.
    await this.dataSource.query(
      'INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [this.projection.name, START],
    );
    const rows = await this.dataSource.query<{ checkpoint: string }[]>(
      'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
      [this.projection.name],
    );
    return rows[0] ? parseCheckpoint(rows[0].checkpoint) : START;
  }

  /** Waits `gatherMs`, or less when someone starts waiting on this projection. */
  private async gather(signal: AbortSignal): Promise<void> {
    if (this.waiters.size > 0) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.endGathering = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.gatherMs);
      signal.addEventListener('abort', done, { once: true });
      this.endGathering = done;
    });
  }

  private advanceScanned(checkpoint: Checkpoint): void {
    if (compareCheckpoints(checkpoint, this.scanned) > 0) this.scanned = checkpoint;
    this.wakeWaiters();
  }

  private wakeWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (attempt - 1));
    return base / 2 + Math.random() * (base / 2);
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.log?.(level, message);
  }
}

/**
 * An operator's decision on a parked event: `retry` applies it again (after a fix),
 * `skip` moves the projection's checkpoint past it. Both are recorded.
 */
export async function resolveParkedEvent(
  dataSource: DataSource,
  projection: string,
  resolution: 'retry' | 'skip',
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    // TypeORM answers an UPDATE with [rows, affected].
    const [updated] = await manager.query<[{ global_position: string }[], number]>(
      `UPDATE herald_projection_dead_letters SET resolution = $2, resolved_at = now()
        WHERE projection = $1 AND resolved_at IS NULL RETURNING global_position`,
      [projection, resolution],
    );
    const parked = updated[0];
    if (!parked) return false;
    if (resolution === 'skip') {
      await manager.query(
        `INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checkpoint = $2, updated_at = now()`,
        [projection, parked.global_position],
      );
    }
    return true;
  });
}

/**
 * Yields what the opened source yields, asking it for the next item while the consumer is
 * still busy with this one: the next page is read from the log while the current one is
 * applied. Unless `pause` gives a wait for an item: then the next is asked for once the
 * consumer is done with this one and the wait is over. The source gets a signal of its
 * own, aborted when the consumer stops early, so a read waiting for new events does not
 * keep the consumer from returning.
 */
async function* readAhead<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  outer: AbortSignal,
  pause: (item: T) => Promise<void> | undefined,
): AsyncGenerator<T> {
  const reading = new AbortController();
  const abort = (): void => reading.abort();
  // Stopped before the first read: an abort event that already fired will not fire again.
  if (outer.aborted) reading.abort();
  outer.addEventListener('abort', abort, { once: true });
  const iterator = open(reading.signal)[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      const wait = pause(result.value);
      if (!wait) {
        next = iterator.next();
        // Awaited on the next turn; until then a failure must not count as unhandled.
        next.catch(() => undefined);
      }
      yield result.value;
      if (wait) {
        await wait;
        next = iterator.next();
        next.catch(() => undefined);
      }
    }
  } finally {
    reading.abort();
    outer.removeEventListener('abort', abort);
    await next.catch(() => undefined);
    await iterator.return?.();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Sleeps; returns true when the signal aborted. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(true);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
