/**
 * `GET /audit/events/:ref/proof` with the events in EventStoreDB: no seal will ever cover
 * an event there, so the answer is a 409 AUDIT.NO_SEALS that says why, at once — not a
 * "not sealed yet" to wait for, not a crash on PostgreSQL tables that hold no events, and
 * nothing read (so nothing recorded). The PostgreSQL case is proof.e2e.spec.ts.
 */
import { loadConfig } from '@herald/config';
import { STATUS_BY_CODE } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AuditController } from './audit.controller.js';
import type { AuditService } from './audit.service.js';

describe('the proof route on EventStoreDB', () => {
  it('answers 409 AUDIT.NO_SEALS naming the reason, and reads nothing', async () => {
    const touched: string[] = [];
    const audit = { record: () => touched.push('record') } as unknown as AuditService;
    const pool = { query: () => touched.push('pool') } as never;
    const config = loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://es:2113?tls=false' });
    const controller = new AuditController(audit, {} as never, pool, config);
    const caller = { userId: crypto.randomUUID() } as never;
    const refusal = await controller.proof(caller, crypto.randomUUID(), {} as FastifyRequest).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'AUDIT.NO_SEALS' });
    expect((refusal as Error).message).toMatch(/EventStoreDB.*PostgreSQL event store.*herald verify/);
    expect(STATUS_BY_CODE['AUDIT.NO_SEALS']).toBe(409);
    expect(touched).toEqual([]);
  });
});
