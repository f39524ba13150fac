/**
 * `POST /projections/:name/resolve`: an operator decides on the event a read model parked
 * (`retry`: apply it again, after a fix; `skip`: move past it), as `herald projections
 * resolve` does. The projection's runner, on whichever instance holds it, sees the decision
 * within a second and goes on. Operators only (requireOperator), checked before anything
 * about the read model is told.
 */
import { Controller, HttpCode, Inject, Post } from '@nestjs/common';
import type { AccessClaims } from '@herald/identity';
import { EdgeError, ZodBody, ZodParam } from '@herald/nest';
import { openDeadLetter, resolveParkedEvent } from '@herald/projection-runtime';
import { READ_MODELS } from '@herald/projections';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { OPERATOR_CHECK, requireOperator, type OperatorCheck } from './operator.js';

export const ResolveBody = z.strictObject({
  resolution: z.enum(['retry', 'skip']).describe('retry: apply the parked event again; skip: move past it'),
});

/** What the decision was about (responses.ts: ResolveAnswer). */
export interface ResolveAnswer {
  readonly name: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly resolution: 'retry' | 'skip';
}

export class ReadModelNotFound extends EdgeError {
  readonly code = 'PROJECTIONS.NOT_FOUND';
  constructor() {
    super(`No such read model; the read models are ${READ_MODELS.map((m) => m.name).join(', ')}`);
  }
}

export class NothingParked extends EdgeError {
  readonly code = 'PROJECTIONS.NOTHING_PARKED';
  constructor(name: string) {
    super(`${name} has no parked event`);
  }
}

@Controller('projections')
export class ProjectionsController {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(OPERATOR_CHECK) private readonly isOperator: OperatorCheck,
  ) {}

  @Post(':name/resolve')
  @HttpCode(200)
  async resolve(
    @Caller() caller: AccessClaims,
    @ZodParam('name', z.string().max(64).describe('A read model: timeline or timeline.v1')) name: string,
    @ZodBody(ResolveBody) body: z.output<typeof ResolveBody>,
  ): Promise<ResolveAnswer> {
    await requireOperator(this.isOperator, caller);
    const readModel = READ_MODELS.find((m) => m.name === name || m.name.split('.')[0] === name);
    if (!readModel) throw new ReadModelNotFound();
    const parked = await openDeadLetter(this.dataSource, readModel.name);
    if (!parked || !(await resolveParkedEvent(this.dataSource, readModel.name, body.resolution)))
      throw new NothingParked(readModel.name);
    return { name: readModel.name, eventId: parked.eventId, eventType: parked.eventType, resolution: body.resolution };
  }
}
