import { Controller, Get, UseInterceptors, type CallHandler, type ExecutionContext } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { encodeCheckpoint, type Checkpoint } from '@herald/event-store';
import { lastValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { HeraldExceptionFilter } from './error-filter.js';
import { JsonLogger } from './json-logger.js';
import {
  CHECKPOINT_WAITER,
  ProjectionsBehind,
  READ_YOUR_WRITES_MS,
  ReadYourWrites,
  type CheckpointWaiter,
} from './read-your-writes.js';
import { RequestInvalid } from './validation.js';

const WRITTEN = encodeCheckpoint(7n, 0n);

/** Read models that have reached `reached` or not, and remember what they were asked to wait for. */
function readModels(reached: boolean): CheckpointWaiter & { asked: [Checkpoint, number][] } {
  const asked: [Checkpoint, number][] = [];
  return {
    asked,
    waitFor: (checkpoint, timeoutMs) => {
      asked.push([checkpoint, timeoutMs]);
      return Promise.resolve(reached);
    },
  };
}

function query(request: { query?: object; headers?: Record<string, string> }): ExecutionContext {
  const req = { query: request.query ?? {}, headers: request.headers ?? {} };
  return {
    switchToHttp: () => ({ getRequest: () => req }),
    getHandler: () => () => undefined,
  } as unknown as ExecutionContext;
}

/** Runs a query through the interceptor: the handler's answer, or what refused it. */
async function run(waiter: CheckpointWaiter, context: ExecutionContext): Promise<{ ran: boolean; answer: unknown }> {
  let ran = false;
  const handler: CallHandler = {
    handle: () => {
      ran = true;
      return of('rows');
    },
  };
  const answer = await lastValueFrom(await new ReadYourWrites(waiter).intercept(context, handler));
  return { ran, answer };
}

describe('the read-your-writes interceptor', () => {
  it('runs a query without a checkpoint at once', async () => {
    const waiter = readModels(false);
    expect(await run(waiter, query({}))).toEqual({ ran: true, answer: 'rows' });
    expect(waiter.asked).toEqual([]);
  });

  it('waits for ?after= (or the x-herald-after header) before the query runs', async () => {
    for (const request of [{ query: { after: WRITTEN } }, { headers: { 'x-herald-after': WRITTEN } }]) {
      const waiter = readModels(true);
      expect(await run(waiter, query(request))).toEqual({ ran: true, answer: 'rows' });
      expect(waiter.asked).toEqual([[WRITTEN, READ_YOUR_WRITES_MS]]);
    }
  });

  it('answers PROJECTIONS.BEHIND when the read models do not reach it in time, without running the query', async () => {
    await expect(run(readModels(false), query({ query: { after: WRITTEN } }))).rejects.toThrow(ProjectionsBehind);
  });

  it('refuses a checkpoint this server did not give (400), and leaves a repeated ?after= to the route’s schema', async () => {
    await expect(run(readModels(true), query({ query: { after: 'nope' } }))).rejects.toThrow(RequestInvalid);
    const waiter = readModels(false);
    expect(await run(waiter, query({ query: { after: [WRITTEN, WRITTEN] } }))).toEqual({ ran: true, answer: 'rows' });
    expect(waiter.asked).toEqual([]);
  });
});

describe('the interceptor on a route', () => {
  it('takes its read models from CHECKPOINT_WAITER and the refusal goes through the error filter', async () => {
    @Controller('things')
    @UseInterceptors(ReadYourWrites)
    class Things {
      @Get()
      list() {
        return { things: [] };
      }
    }
    const waiter = readModels(false);
    const moduleRef = await Test.createTestingModule({
      controllers: [Things],
      providers: [{ provide: CHECKPOINT_WAITER, useValue: waiter }],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    app.useGlobalFilters(new HeraldExceptionFilter(new JsonLogger('fatal')));
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      expect((await app.inject({ method: 'GET', url: '/things' })).json()).toEqual({ things: [] });
      const behind = await app.inject({ method: 'GET', url: `/things?after=${WRITTEN}` });
      expect(behind.statusCode).toBe(503);
      expect(behind.json()).toMatchObject({ error: { code: 'PROJECTIONS.BEHIND' } });
      expect(waiter.asked).toEqual([[WRITTEN, READ_YOUR_WRITES_MS]]);
    } finally {
      await app.close();
    }
  });
});
