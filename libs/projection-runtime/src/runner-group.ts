/**
 * The projection runners of one process, as its health report and metrics see them: each
 * one's state, position and lag (wherever the projection runs), counted at most once per
 * LAG_CACHE_MS however often /health or /metrics is asked.
 */
import type { ProjectionRunner } from './projection-runner.js';
import type { ProjectionStatus } from './projection.js';

/**
 * How long a projection's lag, once counted, answers: the routes are public, and counting
 * reads up to 100,000 log entries per projection while one lags, so any number of calls
 * cost at most one count per projection per second per process.
 */
export const LAG_CACHE_MS = 1_000;

/** What /health tells anyone about a projection; errors and parked events go to the log. */
export interface ProjectionHealth extends Pick<ProjectionStatus, 'name' | 'state' | 'checkpoint'> {
  /** Events in the log after this projection's checkpoint (counted up to 100,000, at most once a second). */
  readonly lag: number | null;
}

/** A projection as the metrics read it. */
export interface ProjectionReading {
  readonly projection: string;
  readonly lag: number | null;
  /** This process holds the projection's lock. */
  readonly active: boolean;
}

export class RunnerGroup {
  private readonly lags = new Map<string, { readonly at: number; readonly lag: Promise<number | null> }>();

  constructor(readonly runners: readonly ProjectionRunner[]) {}

  start(): void {
    for (const runner of this.runners) runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  find(name: string): ProjectionRunner | undefined {
    return this.runners.find((r) => r.projection.name === name);
  }

  /** Each projection's state here, and its position and lag wherever it runs. */
  health(): Promise<ProjectionHealth[]> {
    return Promise.all(
      this.runners.map(async (runner) => {
        const { name, state, checkpoint } = runner.status();
        // A standby (or a process that runs it nowhere) reports the active instance's
        // progress: the read model is shared.
        const position = await runner.position().catch(() => checkpoint);
        return { name, state, checkpoint: position, lag: await this.lagOf(runner) };
      }),
    );
  }

  readings(): Promise<ProjectionReading[]> {
    return Promise.all(
      this.runners.map(async (runner) => ({
        projection: runner.projection.name,
        lag: await this.lagOf(runner),
        active: runner.active,
      })),
    );
  }

  lagOf(runner: ProjectionRunner): Promise<number | null> {
    const now = Date.now();
    const counted = this.lags.get(runner.projection.name);
    if (counted && now - counted.at < LAG_CACHE_MS) return counted.lag;
    const lag = runner.lag().catch(() => null);
    this.lags.set(runner.projection.name, { at: now, lag });
    return lag;
  }
}
