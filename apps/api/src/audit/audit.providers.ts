/**
 * The audit API's parts for the app module: the roles check, the pool of the inclusion proofs
 * (PostgreSQL's seals; a small pool of its own, apart from the serving pools), the audit
 * service, and the configured initial operator, granted at start. The log and stream reads
 * go through the event store port (`readAuditStream`, `auditLog`), which on PostgreSQL has
 * its own small pool for them too.
 */
import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { createPool } from '@herald/database';
import type { EventStore } from '@herald/event-store';
import { IdentityError, SystemRoles } from '@herald/identity';
import { JsonLogger } from '@herald/nest';
import type pg from 'pg';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { CONFIG, DATABASE_URL, EVENT_STORE } from '../tokens.js';
import { AuditorGuard } from './auditor.guard.js';
import { AuditService } from './audit.service.js';

export const AUDIT_POOL = Symbol('AuditPool');

/** Connections of the proof reads: concurrent ones beyond this wait for one. */
const AUDIT_POOL_SIZE = 4;

@Injectable()
class AuditLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(CONFIG) private readonly config: HeraldConfig,
    @Inject(AUDIT_POOL) private readonly pool: pg.Pool,
    private readonly roles: SystemRoles,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * HERALD_INITIAL_OPERATOR: granted the operator role once they are registered (a grant is
   * written only when they do not hold it: restarts write nothing). Not registered yet: said
   * in the log, and granted at the next start after they register. Revoked from them once:
   * not granted again (said in the log), or a revocation of a compromised operator would be
   * undone by the next restart while the variable still names them.
   */
  async onApplicationBootstrap(): Promise<void> {
    const name = this.config.initialOperator;
    if (name === undefined) return;
    try {
      const { userId } = await this.roles.resolve(name);
      const context = { actorId: 'system', correlationId: randomUUID(), now: new Date() };
      const outcome = await this.roles.grantConfigured(userId, 'operator', context);
      if (outcome === 'granted') {
        this.logger.emit('info', `HERALD_INITIAL_OPERATOR ${name} granted the operator role`, 'Audit');
      } else if (outcome === 'revoked') {
        this.logger.emit(
          'warn',
          `HERALD_INITIAL_OPERATOR ${name}: the operator role was revoked from them, so it is not granted again (herald roles grant gives it back)`,
          'Audit',
        );
      }
    } catch (error) {
      if (!(error instanceof IdentityError)) throw error;
      this.logger.emit(
        'warn',
        `HERALD_INITIAL_OPERATOR ${name} is not a registered user yet: no role granted`,
        'Audit',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

export function auditProviders(timeouts: { queryTimeoutMs: number; acquireTimeoutMs: number }): Provider[] {
  return [
    { provide: SystemRoles, inject: [EVENT_STORE], useFactory: (store: EventStore) => new SystemRoles(store) },
    {
      provide: AUDIT_POOL,
      inject: [DATABASE_URL],
      useFactory: (url: string): pg.Pool =>
        createPool({ connectionString: url, max: AUDIT_POOL_SIZE, applicationName: 'herald-audit', timeouts }),
    },
    {
      provide: AuditService,
      inject: [EVENT_STORE, DataSource],
      useFactory: (store: EventStore, dataSource: DataSource) => new AuditService(store, dataSource),
    },
    AuditorGuard,
    AuditLifecycle,
  ];
}
