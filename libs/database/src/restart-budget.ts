/**
 * How often a crashed embedded PostgreSQL may be started again before Herald gives up and
 * leaves the decision to whatever supervises Herald itself. A server that keeps dying (a
 * corrupt cluster, a machine out of memory) is not healed by restarting it. One that cannot
 * start because its disk is full is waited for instead, within one restart (the supervisor
 * in embedded-postgres.ts): restarting Herald would not free the space either.
 */

/** Restarts allowed within {@link RESTART_WINDOW_MS}: a few crashes an hour are survived, a crash loop is not. */
export const MAX_RESTARTS = 5;
/** The sliding window over which {@link MAX_RESTARTS} is counted. */
export const RESTART_WINDOW_MS = 10 * 60_000;

export interface RestartBudgetOptions {
  readonly maxRestarts?: number;
  readonly windowMs?: number;
  /** Milliseconds, monotonic; a fake clock in tests. */
  readonly now?: () => number;
}

/** A sliding-window count of restarts: pure, the clock comes in. */
export class RestartBudget {
  readonly maxRestarts: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly restarts: number[] = [];

  constructor(options: RestartBudgetOptions = {}) {
    this.maxRestarts = options.maxRestarts ?? MAX_RESTARTS;
    this.windowMs = options.windowMs ?? RESTART_WINDOW_MS;
    this.now = options.now ?? (() => performance.now());
  }

  /** Records a restart and says true when it is within the budget; false (recording nothing) when not. */
  take(): boolean {
    const now = this.now();
    while (this.restarts.length > 0 && this.restarts[0]! <= now - this.windowMs) this.restarts.shift();
    if (this.restarts.length >= this.maxRestarts) return false;
    this.restarts.push(now);
    return true;
  }

  /** For the message that explains giving up. */
  describe(): string {
    return `${this.maxRestarts} times within ${Math.round(this.windowMs / 1000)} s`;
  }
}
