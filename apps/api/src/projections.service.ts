/**
 * Owns the projection runners of this process: starts them when the app is up, stops
 * them on shutdown, and reports their status and lag for /health.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { parseCheckpoint, type Checkpoint, type EventStore } from '@herald/event-store';
import type { FastifyRequest } from 'fastify';
import { ProjectionRunner, type Projection, type ProjectionStatus } from '@herald/projection-runtime';
import { JsonLogger, RequestInvalid } from '@herald/nest';
import { DataSource } from 'typeorm';
import { EVENT_STORE, PROJECTIONS } from './tokens.js';

/** How long a query given a checkpoint waits for the read models before answering 503. */
export const READ_YOUR_WRITES_MS = 5_000;

/** The read models did not reach the checkpoint in time: try again shortly (503). */
export class ProjectionsBehind extends Error {
  readonly code = 'PROJECTIONS.BEHIND';
  constructor() {
    super(`The read models have not caught up with that checkpoint within ${READ_YOUR_WRITES_MS} ms; retry`);
  }
}

/**
 * How long events gather at the head of the log before a projection applies them: a
 * query without a checkpoint may see the read models that much older, and one with a
 * checkpoint does not wait for it (docs/benchmarks.md: the transactions it saves).
 */
export const READ_MODEL_GATHER_MS = 20;

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
          gatherMs: READ_MODEL_GATHER_MS,
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

  /**
   * Read-your-writes for a query: a command answered with a checkpoint; given it (`?after=`,
   * or the `x-herald-after` header), the query waits until the read models reached it.
   */
  async readYourWrites(after: string | undefined, request: FastifyRequest): Promise<void> {
    const header = request.headers['x-herald-after'];
    const given = after ?? (typeof header === 'string' ? header : undefined);
    if (!given) return;
    let checkpoint;
    try {
      checkpoint = parseCheckpoint(given);
    } catch {
      throw new RequestInvalid('Invalid checkpoint', [{ path: 'after', problem: 'not a checkpoint this server gave' }]);
    }
    if (!(await this.waitFor(checkpoint, READ_YOUR_WRITES_MS))) throw new ProjectionsBehind();
  }

  async health(): Promise<ProjectionHealth[]> {
    return Promise.all(
      this.runners.map(async (runner) => {
        const { name, state, checkpoint } = runner.status();
        // A standby reports the active instance's progress: the read model is shared.
        const position = await runner.position().catch(() => checkpoint);
        return { name, state, checkpoint: position, lag: await runner.lag().catch(() => null) };
      }),
    );
  }
}
