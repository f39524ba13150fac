/**
 * How far a projection's read model is, wherever the projection runs, and read-your-writes
 * waits on it (`waitFor`). The active instance reports its own progress; a runner that is
 * not the active one (a standby) follows the checkpoint the active instance stores with
 * its read-model rows, which are shared.
 */
import { compareCheckpoints, maxCheckpoint, START, type Checkpoint } from '@herald/event-store';
import { sleep } from './sleep.js';

/**
 * What a runner that is not the active one learned of the active instance's progress: its
 * read model holds every event up to `through`, and when `pending` is known, nothing the
 * filter keeps lies between the two (so everything before `pending` is as good as applied).
 */
interface Observed {
  readonly through: Checkpoint;
  readonly pending?: Checkpoint;
}

/** Where a standby learns the active instance's progress. */
export interface ActiveInstance {
  /** The checkpoint the active instance stored with its read model. */
  storedCheckpoint(): Promise<Checkpoint>;
  /** The next page of the events the projection reads (its filter applied) after `from`. */
  readPage(
    from: Checkpoint,
    limit: number,
  ): Promise<{ readonly events: readonly { readonly globalPosition: Checkpoint }[]; readonly checkpoint: Checkpoint }>;
}

/**
 * A standby looking for the next event the active instance will apply reads pages of this
 * many events (a filtered page scans four times as many log entries), at most
 * MAX_LOOKS_AHEAD of them per poll: about 2,500 entries, so a waiter keeps up with a log
 * growing tens of thousands of events a second whatever the filter skips.
 */
const LOOK_AHEAD_EVENTS = 64;
const MAX_LOOKS_AHEAD = 10;

export class Progress {
  /** Scanned up to here (can be past the stored checkpoint when the filter skipped events). */
  private scannedTo: Checkpoint = START;
  /** Holds the lock: then `scannedTo` is the projection's progress, otherwise `observed` is. */
  private active = false;
  private observed: Observed = { through: START };
  private readonly waiters = new Set<() => void>();
  /** The one read of the stored checkpoint that waiters on a non-active runner share. */
  private polling: Promise<void> | undefined;
  /** Set while the runner runs: waits are possible, and polling ends when it aborts. */
  private signal: AbortSignal | undefined;

  constructor(
    private readonly activeInstance: ActiveInstance,
    /** How often a standby reads the stored checkpoint while someone waits. */
    private readonly pollMs: number,
    /** Someone started waiting for a checkpoint not reached yet. */
    private readonly onWait: () => void = () => undefined,
  ) {}

  get scanned(): Checkpoint {
    return this.scannedTo;
  }

  /** Whether this runner holds the lock (its progress is the projection's). */
  get isActive(): boolean {
    return this.active;
  }

  get hasWaiters(): boolean {
    return this.waiters.size > 0;
  }

  /** The runner started: waits may begin. */
  open(signal: AbortSignal): void {
    this.signal = signal;
  }

  /** The runner stopped: every wait ends (unreached), and so does polling. */
  async close(): Promise<void> {
    this.signal = undefined;
    this.wake();
    await this.polling;
  }

  /** This runner holds the lock: its own progress is the projection's. */
  activate(): void {
    this.active = true;
  }

  /** This runner lost or gave up the lock: waiters go back to the stored checkpoint. */
  standDown(): void {
    if (!this.active) return;
    this.active = false;
    this.wake();
  }

  /** This runner's progress moved (applied or skipped by the filter). */
  advance(checkpoint: Checkpoint): void {
    if (compareCheckpoints(checkpoint, this.scannedTo) > 0) this.scannedTo = checkpoint;
    this.wake();
  }

  /**
   * How far the projection's read model is, wherever it runs: this runner's progress when it
   * is the active one, otherwise the checkpoint the active instance stored.
   */
  async position(): Promise<Checkpoint> {
    if (this.active) return this.scannedTo;
    return maxCheckpoint(this.observed.through, await this.activeInstance.storedCheckpoint());
  }

  /**
   * Resolves true once the projection's read model holds everything up to `checkpoint`,
   * false on timeout (or when the runner is not started).
   */
  async waitFor(checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    if (!this.reached(checkpoint)) this.onWait();
    while (!this.reached(checkpoint)) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.signal) return false;
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
      compareCheckpoints(this.scannedTo, checkpoint) >= 0 ||
      compareCheckpoints(through, checkpoint) >= 0 ||
      (pending !== undefined && compareCheckpoints(checkpoint, pending) < 0)
    );
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * While this runner is not the active one and someone waits, reads the active instance's
   * stored checkpoint every `pollMs`: one loop per runner, whatever the number of waiters,
   * so the database load stays bounded. It ends when nobody waits any more, when this
   * runner becomes the active one (its own progress then wakes the waiters), or on stop.
   */
  private pollStoredWhileWaited(): void {
    const signal = this.signal;
    if (this.polling || this.active || !signal || signal.aborted) return;
    const poll = async (): Promise<void> => {
      try {
        do {
          try {
            if (await this.observeActive()) this.wake();
          } catch {
            // Database unreachable: look again next time; the waiters time out meanwhile.
          }
        } while (!(await sleep(this.pollMs, signal)) && !this.active && this.waiters.size > 0);
      } finally {
        // In the same turn as the last check: a waiter that comes next starts a new loop.
        this.polling = undefined;
      }
    };
    this.polling = poll();
  }

  /**
   * When this runner is not the active one: learns how far the active instance is now,
   * past the events its filter skips (as a waiter's poll does), so that `position` is not
   * held back by them. Errors are left to the next look.
   */
  async refresh(): Promise<void> {
    if (this.active) return;
    await this.observeActive().catch(() => undefined);
  }

  /** Reads how far the active instance has applied; true when that moved. */
  private async observeActive(): Promise<boolean> {
    const stored = await this.activeInstance.storedCheckpoint();
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
        const page = await this.activeInstance.readPage(from, LOOK_AHEAD_EVENTS);
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
}
