/**
 * The auditors' API (`/audit/...`): one stream with every event's full metadata, the log
 * as NDJSON, and a conversation as it was at a seq, a checkpoint or a time. Auditors only
 * (AuditorGuard: everyone else is answered as for a missing route); every read is recorded
 * in the auditor's audit stream before it is answered. Nothing here writes anything else.
 */
import { Controller, Get, Inject, Req, Res, UseGuards } from '@nestjs/common';
import {
  AuditLogParams,
  auditLogQueryOf,
  auditParamsProblem,
  EventNotFound,
  inclusionProof,
  isCheckpointInRange,
  NotSealedYet,
  type AuditStreamPage,
  type EventStore,
  type InclusionProof,
} from '@herald/event-store';
import type { HeraldConfig } from '@herald/config';
import type { AccessClaims } from '@herald/identity';
import { CREDENTIAL_FIELDS } from '@herald/events';
import { EdgeError, RequestInvalid, Uuid, ZodParam, ZodQuery } from '@herald/nest';
import type pg from 'pg';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller, Public } from '../auth/auth.guard.js';
import { PageLimit, SeqParam } from '../paging.js';
import { AuditorGuard } from './auditor.guard.js';
import { CONFIG, EVENT_STORE } from '../tokens.js';
import { AUDIT_POOL } from './audit.providers.js';
import { AuditService, type AsOfAnswer, type AsOfPoint } from './audit.service.js';

class AuditEventNotFound extends EdgeError {
  readonly code = 'AUDIT.EVENT_NOT_FOUND';
}
class AuditNotSealedYet extends EdgeError {
  readonly code = 'AUDIT.NOT_SEALED_YET';
}
class AuditNoSeals extends EdgeError {
  readonly code = 'AUDIT.NO_SEALS';
}

class AuditCredentialWithheld extends EdgeError {
  readonly code = 'AUDIT.CREDENTIAL_WITHHELD';
}

/** An event by its id or its checkpoint. */
const EventRef = z.union([Uuid, z.string().refine(isCheckpointInRange, 'a checkpoint')]);

/** A stream id as the store names them: `<category>-<id>`. */
const StreamId = z.string().regex(/^[a-z]+-[A-Za-z0-9._:-]{1,200}$/, 'a stream id, e.g. conversation-<uuid>');
const StreamQuery = z.strictObject({
  after: z
    .union([z.literal('-1').transform(() => -1), SeqParam])
    .default(-1)
    .describe('The revision the page starts after; -1 (default) from the start'),
  limit: PageLimit,
});
const AsOfQuery = z.strictObject({
  seq: SeqParam.optional().describe('As of the event at this seq'),
  checkpoint: z
    .string()
    .refine(isCheckpointInRange, 'a checkpoint')
    .optional()
    .describe('As of the last event at or before this checkpoint'),
  at: z.iso.datetime({ offset: true }).optional().describe('As of the last event recorded at or before this time'),
  before: SeqParam.optional(),
  since: SeqParam.optional(),
  limit: PageLimit,
});

/** The query string as given, for the audit record (a read is recorded with what it asked). */
const paramsOf = (request: FastifyRequest): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const source of [request.params, request.query]) {
    if (source && typeof source === 'object') {
      for (const [key, value] of Object.entries(source))
        if (typeof value === 'string') out[key] = value.slice(0, 1_000);
    }
  }
  return out;
};

@Public()
@UseGuards(AuditorGuard)
@Controller('audit')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    // The reads go through the port: the store answers them its own way (ADR 050).
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(AUDIT_POOL) private readonly pool: pg.Pool,
    @Inject(CONFIG) private readonly config: HeraldConfig,
  ) {}

  /** One stream's events with their full place and metadata, a page at a time by revision. */
  @Get('streams/:streamId/events')
  async stream(
    @Caller() caller: AccessClaims,
    @ZodParam('streamId', StreamId) streamId: string,
    @ZodQuery(StreamQuery) q: z.output<typeof StreamQuery>,
    @Req() request: FastifyRequest,
  ): Promise<AuditStreamPage> {
    await this.record(caller, 'GET /audit/streams/:streamId/events', request);
    return this.store.readAuditStream(streamId, q.after, q.limit);
  }

  /** The log, or the part the filters select, as NDJSON: one event per line, in order, streamed. */
  @Get('log')
  async logNdjson(
    @Caller() caller: AccessClaims,
    @ZodQuery(AuditLogParams) q: z.output<typeof AuditLogParams>,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const problem = auditParamsProblem(q);
    if (problem) throw new RequestInvalid('These filters do not go together', [problem]);
    await this.record(caller, 'GET /audit/log', request);
    // Refusals, and an unreachable store, come before the answer starts: a 409 or a 503, not a cut stream.
    const lines = Readable.from(await this.store.auditLog(auditLogQueryOf(q)), { objectMode: false });
    await reply.type('application/x-ndjson; charset=utf-8').send(lines);
  }

  /** A conversation as it was: its details, members and a page of messages, as the live reads answered then. */
  @Get('conversations/:id')
  async asOf(
    @Caller() caller: AccessClaims,
    @ZodParam('id', Uuid) conversationId: string,
    @ZodQuery(AsOfQuery) q: z.output<typeof AsOfQuery>,
    @Req() request: FastifyRequest,
  ): Promise<AsOfAnswer> {
    const points = [q.seq, q.checkpoint, q.at].filter((p) => p !== undefined).length;
    if (points !== 1) {
      throw new RequestInvalid('Give exactly one of seq, checkpoint or at', [
        { path: 'seq', problem: 'one of seq, checkpoint, at' },
      ]);
    }
    if (q.before !== undefined && q.since !== undefined) {
      throw new RequestInvalid('Give before or since, not both', [{ path: 'before', problem: 'with since' }]);
    }
    // Before the record: a read refused for the budget is not one that was made.
    const release = this.audit.foldSlot(caller.userId);
    try {
      await this.record(caller, 'GET /audit/conversations/:id', request);
      const point: AsOfPoint =
        q.seq !== undefined
          ? { seq: q.seq }
          : q.checkpoint !== undefined
            ? { checkpoint: q.checkpoint }
            : { at: new Date(q.at!) };
      return await this.audit.conversationAsOf(conversationId, point, {
        limit: q.limit,
        ...(q.before !== undefined ? { before: q.before } : {}),
        ...(q.since !== undefined ? { after: q.since } : {}),
      });
    } finally {
      release();
    }
  }

  /**
   * The inclusion proof of one event (by id or checkpoint): its stored content and the Merkle
   * path to the seal that covers it, checked offline by examples/verify-proof (ADR 030).
   * Seals are the PostgreSQL event store's: with the events in EventStoreDB, a 409 says so.
   */
  @Get('events/:ref/proof')
  async proof(
    @Caller() caller: AccessClaims,
    @ZodParam('ref', EventRef) ref: string,
    @Req() request: FastifyRequest,
  ): Promise<InclusionProof> {
    if (this.config.eventStore.kind === 'eventstoredb') {
      throw new AuditNoSeals(
        'The events are in EventStoreDB, which Herald does not seal: inclusion proofs (and digests) need the ' +
          "PostgreSQL event store. Each event's hash chain is kept, and `herald verify` checks the chains.",
      );
    }
    await this.record(caller, 'GET /audit/events/:ref/proof', request);
    let proof: InclusionProof;
    try {
      proof = await inclusionProof(this.pool, ref);
    } catch (error) {
      if (error instanceof EventNotFound) throw new AuditEventNotFound(error.message);
      if (error instanceof NotSealedYet) throw new AuditNotSealedYet(error.message);
      throw error;
    }
    // A proof carries the data as its hash covers it, so a credential cannot be redacted
    // from it as the other reads redact it: it is not given (herald proof, on the server, gives it).
    if (CREDENTIAL_FIELDS[proof.event.type] !== undefined) {
      throw new AuditCredentialWithheld(
        `A ${proof.event.type} event holds a credential, which the audit API does not show: prove it with herald proof`,
      );
    }
    return proof;
  }

  private record(caller: AccessClaims, read: string, request: FastifyRequest): Promise<void> {
    const { correlationId, traceparent } = requestContext(request);
    return this.audit.record(caller.userId, read, paramsOf(request), {
      correlationId,
      ...(traceparent !== undefined ? { traceparent } : {}),
    });
  }
}
