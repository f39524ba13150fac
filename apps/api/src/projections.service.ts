/**
 * Owns the projection runners of this process: starts them when the app is up, stops
 * them on shutdown, and reports their status and lag for /health.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Checkpoint, EventStore } from '@herald/event-store';
import { ProjectionRunner, type Projection, type ProjectionStatus } from '@herald/projection-runtime';
import { JsonLogger } from '@herald/nest';
import { DataSource } from 'typeorm';
import { EVENT_STORE, PROJECTIONS } from './tokens.js';

/** What /health tells anyone about a projection; errors and parked events go to the log. */
export interface ProjectionHealth extends Pick<ProjectionStatus, 'name' | 'state' | 'checkpoint'> {
  /** Events in the log after this projection's checkpoint (counted up to 100,000). */
  readonly lag: number | null;
}

@Injectable()
export class ProjectionsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly runners: ProjectionRunner[];

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    dataSource: DataSource,
    @Inject(PROJECTIONS) projections: readonly Projection[],
    logger: JsonLogger,
  ) {
    this.runners = projections.map(
      (projection) =>
        new ProjectionRunner(store, dataSource, projection, {
          log: (level, message) => logger.emit(level, message, 'Projections'),
        }),
    );
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners) runner.start();
  }

  /** Before the connections close (onApplicationShutdown): a runner stops between batches. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  /**
   * Read-your-writes: resolves true once every projection's read model holds everything up
   * to `checkpoint` (the one a command answered with), false after `timeoutMs`. Where
   * another instance runs a projection, its runner here follows that one's stored checkpoint.
   */
  async waitFor(checkpoint: Checkpoint, timeoutMs: number): Promise<boolean> {
    const reached = await Promise.all(this.runners.map((r) => r.waitFor(checkpoint, timeoutMs)));
    return reached.every(Boolean);
  }

  async health(): Promise<ProjectionHealth[]> {
    return Promise.all(
      this.runners.map(async (runner) => {
        const { name, state, checkpoint } = runner.status();
        return { name, state, checkpoint, lag: await runner.lag().catch(() => null) };
      }),
    );
  }
}
