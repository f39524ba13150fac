import { Controller, Get, Inject, Res } from '@nestjs/common';
import { Public } from '../auth/auth.guard.js';
import type { EventStore } from '@herald/event-store';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { ProjectionsService, type ProjectionHealth } from '../projections.service.js';
import { EVENT_STORE } from '../tokens.js';

type Up = 'up' | 'down';

export interface HealthReport {
  /** `ok`: all well; `degraded`: serving, but a projection is stopped or retrying; `down`: a store is unreachable. */
  readonly status: 'ok' | 'degraded' | 'down';
  readonly database: { readonly status: Up };
  readonly eventStore: { readonly status: Up; readonly checkpoint: string | null };
  readonly projections: readonly ProjectionHealth[];
}

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
    const [database, checkpoint] = await Promise.all([
      this.dataSource.query('SELECT 1').then(
        (): Up => 'up',
        (): Up => 'down',
      ),
      this.store.headCheckpoint().catch(() => null),
    ]);
    const eventStore: Up = checkpoint === null ? 'down' : 'up';
    const projections = database === 'up' ? await this.projections.health() : [];
    const troubled = projections.some((p) => p.state === 'stopped' || p.state === 'retrying');
    const status = database === 'down' || eventStore === 'down' ? 'down' : troubled ? 'degraded' : 'ok';
    void reply.status(status === 'down' ? 503 : 200);
    return { status, database: { status: database }, eventStore: { status: eventStore, checkpoint }, projections };
  }
}
