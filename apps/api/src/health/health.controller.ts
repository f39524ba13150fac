import { Controller, Get, Inject, Res } from '@nestjs/common';
import { Public } from '../auth/auth.guard.js';
import type { EventStore } from '@herald/event-store';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { ProjectionsService, type ProjectionHealth } from '../projections.service.js';
import { EVENT_STORE } from '../tokens.js';

type Up = 'up' | 'down';

/**
 * How long /health (and /health/ready) waits for each store before calling it down: a
 * paused server would otherwise hold the probe until the pools' own timeouts, longer than
 * a load balancer's probe waits (README "What Herald survives").
 */
export const HEALTH_PROBE_TIMEOUT_MS = 1_000;

/** `work`'s value, or `fallback` once `ms` passed without one (or when it fails). */
async function within<T>(ms: number, work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.catch(() => fallback),
      new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface HealthReport {
  /** `ok`: all well; `degraded`: serving, but a projection is stopped or retrying; `down`: a store is unreachable. */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly database: { readonly status: Up };
  readonly eventStore: { readonly status: Up; readonly checkpoint: string | null };
  readonly projections: readonly ProjectionHealth[];
}

/** `/health/live`: the process answers, which is all a restart decision needs. */
export interface Liveness {
  readonly status: 'ok';
}

/** `/health/ready`: `/health`'s verdict alone, for whatever routes traffic. */
export interface Readiness {
  readonly status: HealthReport['status'];
}

/**
 * Three views of one verdict. A supervisor restarts Herald when `/health/live` stops
 * answering; a load balancer sends traffic while `/health/ready` is 200. A database that is
 * down (or being restarted by Herald) makes Herald not ready, never not live: restarting
 * Herald would not bring the database back sooner.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dataSource: DataSource,
    private readonly projections: ProjectionsService,
  ) {}

  /** 200 while Herald can serve (ok or degraded), 503 when it cannot, so load balancers take it out. */
  @Get()
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const report = await this.report();
    void reply.status(report.status === 'down' ? 503 : 200);
    return report;
  }

  /** 200 whenever the process can answer at all: touches no store. */
  @Get('live')
  live(): Liveness {
    return { status: 'ok' };
  }

  /** The status of `/health`, with its HTTP status (200 ok or degraded, 503 down). */
  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<Readiness> {
    const { status } = await this.report();
    void reply.status(status === 'down' ? 503 : 200);
    return { status };
  }

  private async report(): Promise<HealthReport> {
    const [database, checkpoint] = await Promise.all([
      within(
        HEALTH_PROBE_TIMEOUT_MS,
        this.dataSource.query('SELECT 1').then((): Up => 'up'),
        'down',
      ),
      within(HEALTH_PROBE_TIMEOUT_MS, this.store.headCheckpoint(), null),
    ]);
    const eventStore: Up = checkpoint === null ? 'down' : 'up';
    // Each runner's state is known here; only the positions and lags are read from the
    // database, and a server that stopped answering since the probe must not hold the answer.
    const projections = database === 'up' ? await within(HEALTH_PROBE_TIMEOUT_MS, this.projections.health(), null) : [];
    if (projections === null) {
      return {
        status: 'down',
        database: { status: 'down' },
        eventStore: { status: eventStore, checkpoint },
        projections: [],
      };
    }
    const troubled = projections.some((p) => p.state === 'stopped' || p.state === 'retrying');
    const status = database === 'down' || eventStore === 'down' ? 'down' : troubled ? 'degraded' : 'ok';
    return { status, database: { status: database }, eventStore: { status: eventStore, checkpoint }, projections };
  }
}
