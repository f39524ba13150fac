/**
 * Owns the projection runners of this process: starts them when the app is up, stops
 * them on shutdown, reports their status and lag for /health, and refuses the reads
 * whose authorization a stopped or stale read model would decide (fail closed).
 */
import {
  Inject,
  Injectable,
  Optional,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { maxCheckpoint, type Checkpoint, type EventStore } from '@herald/event-store';
import {
  dropExpiredGenerations,
  LAG_CACHE_MS,
  ProjectionRunner,
  RunnerGroup,
  type Projection,
  type ProjectionHealth,
  type ProjectionReading,
} from '@herald/projection-runtime';
import type { CounterSlot } from '@herald/observability';
import { EdgeError, JsonLogger, type CheckpointWaiter } from '@herald/nest';
import { READ_MODEL_GATHER_MS, SEARCH } from '@herald/projections';
import { DataSource } from 'typeorm';
import { EVENT_STORE, PROJECTIONS } from './tokens.js';

/**
 * Read models a `?after=` waits for only on the routes that name them (`@ReadsFrom`): search.v1
 * is the heaviest to apply, and builds from position 0 when added to a Herald with history;
 * reads of the other read models need not wait for it.
 */
const NAMED_ONLY: readonly string[] = [SEARCH];

/**
 * How old the oldest event a read model has not applied may be before the reads it
 * authorizes are refused: membership older than this could let a member who was kicked
 * or left read on (`requireCurrent`).
 */
export const MAX_STALENESS_MS = 5_000;
/** How long one staleness check answers for, so that a busy API reads the log once per interval. */
const STALENESS_CHECK_MS = 250;
/**
 * Pages (of 64 events the filter keeps, 256 log entries scanned) one staleness check reads
 * past what the filter skips. A check that reads them all without reaching the head
 * answers stale (fail closed); the next check goes on from where this one stopped.
 */
const LOOKS_AHEAD = 10;

/** The read model an authorization depends on is stopped or too far behind: refused (503), never served stale. */
export class ProjectionsUnavailable extends EdgeError {
  readonly code = 'PROJECTIONS.UNAVAILABLE';
  constructor(name: string) {
    super(`The read model ${name} is stopped or more than ${MAX_STALENESS_MS} ms behind; retry`);
  }
}

export { LAG_CACHE_MS, READ_MODEL_GATHER_MS, type ProjectionHealth };

/** How this process runs its projections (RUN_PROJECTIONS, PROJECTION_LEASE_MS, metrics). */
export interface ProjectionSettings {
  /** Runs none of them: follows the process that does (RUN_PROJECTIONS=false). */
  readonly passive?: boolean;
  readonly leaseMs?: number;
  /** Counts the events each projection applies here. */
  readonly applied?: (projection: string) => CounterSlot;
}
export const PROJECTION_SETTINGS = Symbol('ProjectionSettings');

/**
 * How often this instance drops the tables of read-model generations whose grace period
 * after a rebuild is over (ADR 034); `herald projections` commands do it too.
 */
export const RETIRED_SWEEP_MS = 60_000;

@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, BeforeApplicationShutdown, CheckpointWaiter {
  private readonly runners: ProjectionRunner[];
  private readonly group: RunnerGroup;
  /** The last staleness check per projection, shared by the requests of its interval. */
  private readonly freshness = new Map<string, { readonly at: number; readonly fresh: Promise<boolean> }>();
  /**
   * Per projection, how far staleness checks have scanned the log and found nothing its
   * filter keeps: a long stretch of skipped events is crossed over a few checks, not read
   * again by each.
   */
  private readonly skippedThrough = new Map<string, Checkpoint>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dataSource: DataSource,
    @Inject(PROJECTIONS) projections: readonly Projection[],
    private readonly logger: JsonLogger,
    @Optional() @Inject(PROJECTION_SETTINGS) settings: ProjectionSettings = {},
  ) {
    this.runners = projections.map((projection) => {
      const applied = settings.applied?.(projection.name);
      return new ProjectionRunner(store, dataSource, projection, {
        gatherMs: READ_MODEL_GATHER_MS,
        ...(settings.passive ? { passive: true } : {}),
        ...(settings.leaseMs ? { leaseMs: settings.leaseMs } : {}),
        ...(applied ? { onApplied: (events: number) => applied.inc(events) } : {}),
        log: (level, message) => logger.emit(level, message, 'Projections'),
      });
    });
    this.group = new RunnerGroup(this.runners);
  }

  onApplicationBootstrap(): void {
    this.group.start();
    this.sweeper = setInterval(() => void this.sweepRetired(), RETIRED_SWEEP_MS);
    this.sweeper.unref();
  }

  /** Drops retired generations whose grace period is over (any instance may: each drop is one transaction). */
  private async sweepRetired(): Promise<void> {
    try {
      const dropped = await dropExpiredGenerations(this.dataSource);
      if (dropped.length > 0)
        this.logger.emit('info', `dropped retired read-model tables: ${dropped.join(', ')}`, 'Projections');
    } catch (error) {
      this.logger.emit(
        'warn',
        `dropping retired read-model tables: ${error instanceof Error ? error.message : String(error)}`,
        'Projections',
      );
    }
  }

  /** Before the connections close (onApplicationShutdown): a runner stops between batches. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.sweeper);
    await this.group.stop();
  }

  /**
   * Read-your-writes (the app's CHECKPOINT_WAITER, which libs/nest's ReadYourWrites waits
   * on): resolves true once the projections the route reads (`readModels`, from its
   * `@ReadsFrom`; every one but NAMED_ONLY's when it names none) hold holds everything up to
   * `checkpoint` (the one a command answered with), false after `timeoutMs`. Where another
   * instance runs a projection, its runner here follows that one's stored checkpoint.
   */
  async waitFor(checkpoint: Checkpoint, timeoutMs: number, readModels?: readonly string[]): Promise<boolean> {
    const runners = this.runners.filter((r) =>
      readModels ? readModels.includes(r.projection.name) : !NAMED_ONLY.includes(r.projection.name),
    );
    // A route naming a read model this app does not run would otherwise wait for nothing.
    const unknown = readModels?.filter((name) => !this.runners.some((r) => r.projection.name === name)) ?? [];
    if (unknown.length > 0)
      throw new Error(`@ReadsFrom names read models this app does not run: ${unknown.join(', ')}`);
    const reached = await Promise.all(runners.map((r) => r.waitFor(checkpoint, timeoutMs)));
    return reached.every(Boolean);
  }

  /**
   * Fails closed: throws ProjectionsUnavailable unless the read model `name` can be trusted
   * for an authorization decision now. It cannot when its runner here is stopped (a parked
   * event), retrying or not started, nor, wherever it runs (this instance or another), when
   * an event it has not applied was recorded more than MAX_STALENESS_MS ago. A parked
   * event is seen at once on the instance that runs the projection, and by the others
   * within MAX_STALENESS_MS. A process that runs no projection (`remote`) judges by the
   * log and the stored checkpoint alone, as a standby does.
   */
  async requireCurrent(name: string): Promise<void> {
    const runner = this.runners.find((r) => r.projection.name === name);
    if (!runner) throw new Error(`no projection ${name}`);
    const { state } = runner.status();
    if (state === 'stopped' || state === 'retrying' || state === 'idle') throw new ProjectionsUnavailable(name);
    const now = Date.now();
    let check = this.freshness.get(name);
    if (!check || now - check.at >= STALENESS_CHECK_MS) {
      check = { at: now, fresh: this.isFresh(runner, now) };
      this.freshness.set(name, check);
    }
    if (!(await check.fresh)) throw new ProjectionsUnavailable(name);
  }

  /**
   * Whether the projection is not stopped anywhere, and the oldest event it has not applied
   * (if any) is recent enough. That event is looked for past the events its filter skips,
   * a few pages at most: a standby's position is the active instance's last applied batch.
   */
  private async isFresh(runner: ProjectionRunner, now: number): Promise<boolean> {
    const { name } = runner.projection;
    try {
      if (await runner.parkedAnywhere()) return false;
      const position = await runner.position();
      const skipped = this.skippedThrough.get(name);
      let from = skipped === undefined ? position : maxCheckpoint(position, skipped);
      for (let look = 0; look < LOOKS_AHEAD; look++) {
        const page = await this.store.readAll({
          from,
          limit: 64,
          ...(runner.projection.filter ? { filter: runner.projection.filter } : {}),
        });
        const next = page.events[0];
        if (next) return now - next.recordedAt.getTime() <= MAX_STALENESS_MS;
        if (page.checkpoint === from) return true;
        from = page.checkpoint;
        // Nothing the filter keeps lies before `from`: the next check starts there.
        this.skippedThrough.set(name, from);
      }
      // The head was not reached: an unapplied event may lie beyond, however old. Not
      // vouched for (fail closed) until a later check gets there.
      return false;
    } catch {
      // The log or the checkpoint cannot be read: nothing can be vouched for.
      return false;
    }
  }

  /** Each projection's state here, and its position and lag wherever it runs (lag counted at most once per LAG_CACHE_MS). */
  health(): Promise<ProjectionHealth[]> {
    return this.group.health();
  }

  /** For the metrics: each projection's lag, and whether this process is its active instance. */
  readings(): Promise<ProjectionReading[]> {
    return this.group.readings();
  }

  /** The Kafka relay's lag, when this process runs it; null otherwise. */
  relayLag(relayName: string): Promise<number | null> {
    const runner = this.group.find(relayName);
    return runner ? this.group.lagOf(runner) : Promise.resolve(null);
  }

  /** Whether the projection is stopped at a parked event, wherever it runs. */
  parkedAnywhere(name: string): Promise<boolean> {
    const runner = this.group.find(name);
    return runner ? runner.parkedAnywhere() : Promise.resolve(false);
  }
}
