/**
 * Runs one projection: follows the event log from the projection's checkpoint and applies
 * batches, each in one transaction with the new checkpoint (exactly-once effect). This
 * module owns the batch loop; its parts live beside it:
 *
 * - `lock.ts`: one instance at a time, by a leased session advisory lock per projection
 *   name; other instances wait in `standby` and take over when the holder goes away.
 *   A `passive` runner (an API with RUN_PROJECTIONS=false) never takes it: it only
 *   follows the checkpoint the active instance stores (`remote`).
 * - `progress.ts`: how far the read model is, and read-your-writes `waitFor`, which works
 *   on every instance: a standby follows the checkpoint the active one stores.
 * - `retry.ts`: transient failures (connection lost, deadlock, or what the projection
 *   calls transient) are retried with backoff, forever; any other failure is retried a
 *   few times, then the batch is split to find the event that fails.
 * - `dead-letters.ts`: that event is parked and the projection stops at it (`stopped`)
 *   until an operator resolves it. Nothing is skipped silently.
 * - `read-ahead.ts`: pages are read ahead while catching up, and gather at the head.
 */
import { parseCheckpoint, START, type Checkpoint, type EventStore, type RecordedEvent } from '@herald/event-store';
import type { DataSource, EntityManager } from 'typeorm';
import { hasOpenDeadLetter, openDeadLetter, parkEvent } from './dead-letters.js';
import { LostLock, ProjectionLock } from './lock.js';
import { Progress } from './progress.js';
import type { AfterCommit, ParkedEvent, Projection, ProjectionState, ProjectionStatus } from './projection.js';
import { Gathering, gathersAfter, readAhead } from './read-ahead.js';
import {
  applyOrPark,
  attemptBatch,
  backoff,
  describeError,
  isTransient,
  type Attempted,
  type RetryPolicy,
} from './retry.js';
import { sleep } from './sleep.js';

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
  /**
   * How long the server keeps the lock of a holder that went silent without closing its
   * connection (PROJECTION_LEASE_MS; lock.ts). Default 5,000.
   */
  readonly leaseMs?: number;
  /**
   * Never applies: follows the active instance elsewhere (state `remote`), for waits,
   * positions and lags. For a process that serves the read models but runs none.
   */
  readonly passive?: boolean;
  /** Told of every batch applied, with its number of events (metrics). */
  readonly onApplied?: (events: number) => void;
  readonly log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export class ProjectionRunner {
  private state: ProjectionState = 'idle';
  private checkpoint: Checkpoint = START;
  private lastError: string | undefined;
  private failures = 0;
  private parked: ParkedEvent | undefined;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly progress: Progress;
  private readonly gathering = new Gathering();
  private readonly batchSize: number;
  private readonly retry: RetryPolicy;
  private readonly recheckMs: number;
  private readonly gatherMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly dataSource: DataSource,
    readonly projection: Projection,
    private readonly options: RunnerOptions = {},
  ) {
    this.batchSize = options.batchSize ?? projection.batchSize ?? 500;
    this.retry = {
      maxAttempts: options.maxAttempts ?? 3,
      initialBackoffMs: options.initialBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
    };
    this.recheckMs = options.recheckMs ?? 1_000;
    this.gatherMs = options.gatherMs ?? 0;
    this.leaseMs = options.leaseMs ?? 5_000;
    this.progress = new Progress(
      {
        storedCheckpoint: () => this.storedCheckpoint(),
        readPage: (from, limit) => this.store.readAll({ from, limit, ...this.filter() }),
      },
      options.standbyPollMs ?? 50,
      () => this.gathering.end(),
    );
  }

  start(): void {
    if (this.loop) return;
    this.controller = new AbortController();
    this.progress.open(this.controller.signal);
    if (this.options.passive) {
      this.state = 'remote';
      this.loop = Promise.resolve();
      return;
    }
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
    this.state = 'idle';
    await this.progress.close();
  }

  status(): ProjectionStatus {
    return {
      name: this.projection.name,
      state: this.state,
      checkpoint: this.progress.scanned,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(this.parked ? { parked: this.parked } : {}),
    };
  }

  /** Whether this runner is the projection's active instance now (holds its lock). */
  get active(): boolean {
    return this.progress.isActive;
  }

  /**
   * How far the projection's read model is, wherever it runs: this runner's progress when it
   * is the active one, otherwise the checkpoint the active instance stored.
   */
  position(): Promise<Checkpoint> {
    return this.progress.position();
  }

  /**
   * Whether the projection is stopped at a parked event, wherever it runs (the dead letter
   * is shared by the instances): a standby cannot see the active instance's state otherwise.
   */
  async parkedAnywhere(): Promise<boolean> {
    if (this.parked) return true;
    return hasOpenDeadLetter(this.dataSource, this.projection.name);
  }

  /**
   * Events in the log after the projection's position (at most `max`). Where another
   * instance is the active one, its stored checkpoint is looked past the events the
   * filter skips first (a few pages at most): they are not behind.
   */
  async lag(max = 100_000): Promise<number> {
    await this.progress.refresh();
    return this.store.countEventsAfter(await this.position(), max);
  }

  /**
   * Resolves true once the projection's read model holds everything up to `checkpoint`,
   * false on timeout (or when the runner is not started). On the active instance that is
   * this runner's own progress; on another (standby) it is the checkpoint the active one
   * stored with its read-model rows, which are shared.
   */
  waitFor(checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    return this.progress.waitFor(checkpoint, timeoutMs);
  }

  // ------------------------------------------------------------------ the loop

  private async run(signal: AbortSignal): Promise<void> {
    let leaseWarned = false;
    while (!signal.aborted) {
      let lock: ProjectionLock | undefined;
      try {
        lock = await ProjectionLock.acquire(
          this.dataSource,
          this.projection.name,
          { recheckMs: this.recheckMs, leaseMs: this.leaseMs },
          signal,
          () => {
            this.state = 'standby';
          },
          (enforced) => {
            if (enforced || leaseWarned) return;
            leaseWarned = true;
            this.log(
              'warn',
              `projection ${this.projection.name}: this PostgreSQL has no idle_session_timeout (before 14): a standby takes over from a silent holder only once the server drops its connection`,
            );
          },
        );
        if (!lock) break;
        // The lock's term: it ends with the runner, or as soon as the lock is lost.
        const term = AbortSignal.any([signal, lock.lost]);
        this.progress.activate();
        if (await this.waitWhileParked(term)) {
          if (signal.aborted) break;
          lock.check();
        }
        await this.follow(term, lock);
        if (!signal.aborted) lock.check();
      } catch (error) {
        if (signal.aborted) break;
        // Reset only by a page applied: an error that keeps coming backs off further.
        this.failures++;
        this.lastError = describeError(error);
        this.state = error instanceof LostLock ? 'standby' : 'retrying';
        this.log('warn', `projection ${this.projection.name}: ${this.lastError}; retrying`);
        await sleep(backoff(this.failures, this.retry), signal);
      } finally {
        this.progress.standDown();
        await lock?.release();
      }
    }
  }

  /** While an event is parked, waits for an operator; returns true when stopped meanwhile. */
  private async waitWhileParked(signal: AbortSignal): Promise<boolean> {
    for (;;) {
      this.parked = await openDeadLetter(this.dataSource, this.projection.name);
      if (!this.parked) return false;
      this.state = 'stopped';
      if (await sleep(this.recheckMs, signal)) return true;
    }
  }

  private async follow(signal: AbortSignal, lock: ProjectionLock): Promise<void> {
    this.checkpoint = await this.loadCheckpoint();
    this.progress.advance(this.checkpoint);
    this.state = 'running';
    this.lastError = undefined;
    this.log('info', `projection ${this.projection.name}: running from ${this.checkpoint}`);
    const pages = readAhead(
      (reading) =>
        this.store.subscribeToAll({ from: this.checkpoint, limit: this.batchSize, signal: reading, ...this.filter() }),
      signal,
      // Catching up, the next page is read while this one is applied; at the head, events
      // first gather for a while.
      (page) => (gathersAfter(page, this.batchSize, this.gatherMs) ? this.gather(signal) : undefined),
    );
    for await (const page of pages) {
      // The lock lives on its own connection: if that connection died, so did the lock.
      lock.check();
      if (page.events.length > 0) {
        const parked = await applyOrPark(page.events, page.checkpoint, {
          attempt: (events, checkpoint) => this.attempt(events, checkpoint, signal),
          park: (event, error) => this.park(event, error),
          applied: (event) => this.progress.advance(event.globalPosition),
        });
        if (parked || signal.aborted) return;
        this.options.onApplied?.(page.events.length);
      }
      this.progress.advance(page.checkpoint);
      this.failures = 0;
      this.state = 'running';
    }
  }

  private async attempt(
    events: readonly RecordedEvent[],
    checkpoint: Checkpoint,
    signal: AbortSignal,
  ): Promise<Attempted> {
    const result = await attemptBatch(
      () => this.applyBatch(events, checkpoint),
      this.retry,
      (error) => isTransient(error, this.projection),
      signal,
      {
        failed: (error) => {
          this.lastError = describeError(error);
        },
        retrying: (_error, attempt, transient) => {
          if (transient) this.state = 'retrying';
          this.log('warn', `projection ${this.projection.name}: batch failed (attempt ${attempt}): ${this.lastError}`);
        },
      },
      events.length > 1,
    );
    if (result === 'applied') this.lastError = undefined;
    return result;
  }

  private async applyBatch(events: readonly RecordedEvent[], checkpoint: Checkpoint): Promise<void> {
    let afterCommit = undefined as AfterCommit | void;
    await this.dataSource.transaction(async (manager: EntityManager) => {
      if (events.length > 0) afterCommit = await this.projection.apply(events, manager);
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
    afterCommit?.();
  }

  private async park(event: RecordedEvent, error: Error): Promise<void> {
    const { maxAttempts } = this.retry;
    this.parked = await parkEvent(this.dataSource, this.projection.name, event, describeError(error), maxAttempts);
    this.state = 'stopped';
    this.log(
      'error',
      `projection ${this.projection.name}: parked event ${event.eventId} (${event.type}) after ${maxAttempts} attempts: ${describeError(error)}`,
    );
  }

  private async loadCheckpoint(): Promise<Checkpoint> {
    // The row must exist for the compare-and-set fence in applyBatch.
    await this.dataSource.query(
      'INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [this.projection.name, START],
    );
    return this.storedCheckpoint();
  }

  private async storedCheckpoint(): Promise<Checkpoint> {
    const rows = await this.dataSource.query<{ checkpoint: string }[]>(
      'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
      [this.projection.name],
    );
    return rows[0] ? parseCheckpoint(rows[0].checkpoint) : START;
  }

  /** Waits `gatherMs`, or less when someone starts waiting on this projection. */
  private async gather(signal: AbortSignal): Promise<void> {
    if (this.progress.hasWaiters) return;
    await this.gathering.wait(this.gatherMs, signal);
  }

  private filter(): { filter?: NonNullable<Projection['filter']> } {
    return this.projection.filter ? { filter: this.projection.filter } : {};
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.log?.(level, message);
  }
}
