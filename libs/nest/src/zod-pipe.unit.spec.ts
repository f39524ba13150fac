import { Controller, Post } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RequestInvalid, Uuid } from './validation.js';
import { ZodBody, ZodParam, ZodPipe, ZodQuery } from './zod-pipe.js';

const ID = '6F1C2B9E-0D52-4C38-9A8E-2C1F0B7D4E11';
const Body = z.strictObject({ text: z.string().max(10) });

function refusal(run: () => unknown): RequestInvalid {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestInvalid) return error;
    throw error;
  }
  throw new Error('not refused');
}

describe('the zod pipe', () => {
  it('answers the parsed value: an id in lower case', () => {
    expect(new ZodPipe(Uuid).transform(ID, { type: 'param', data: 'id' })).toBe(ID.toLowerCase());
  });

  it('refuses a bad value with REQUEST.INVALID naming where it came from: path, query or body', () => {
    const pipe = new ZodPipe(Uuid);
    expect(refusal(() => pipe.transform('nope', { type: 'param', data: 'id' })).message).toBe('Invalid request path');
    expect(refusal(() => new ZodPipe(z.strictObject({})).transform({ a: '1' }, { type: 'query' })).message).toBe(
      'Invalid request query',
    );
    const body = refusal(() => new ZodPipe(Body).transform({ text: 'x'.repeat(11), more: 1 }, { type: 'body' }));
    expect(body.message).toBe('Invalid request body');
    expect(body.code).toBe('REQUEST.INVALID');
    expect(body.details).toEqual(
      expect.arrayContaining([
        { path: '(root)', problem: 'unknown field(s): more' },
        expect.objectContaining({ path: 'text' }),
      ]),
    );
  });

  it('refuses a NUL anywhere, and makes lone surrogates well formed', () => {
    expect(refusal(() => new ZodPipe(Body).transform({ text: 'a\u0000b' }, { type: 'body' })).details).toEqual([
      { path: 'text', problem: 'contains a NUL character' },
    ]);
    expect(new ZodPipe(Body).transform({ text: 'a\ud800b' }, { type: 'body' })).toEqual({ text: 'a\ufffdb' });
  });
});

describe('the zod parameter decorators', () => {
  @Controller()
  class Example {
    @Post(':id')
    send(
      @ZodParam('id', Uuid) id: string,
      @ZodBody(Body) body: unknown,
      @ZodQuery(z.strictObject({ after: z.string().optional() })) query: unknown,
    ) {
      return { id, body, query };
    }
  }

  it('attach the pipe to the argument and document it with the same schema', () => {
    const args = Reflect.getMetadata(ROUTE_ARGS_METADATA, Example, 'send') as Record<
      string,
      { data?: string; pipes: unknown[] }
    >;
    const pipes = Object.values(args).flatMap((arg) => arg.pipes);
    expect(pipes.map((pipe) => (pipe as ZodPipe<z.ZodType>).schema)).toEqual(expect.arrayContaining([Uuid, Body]));
    const method = Object.getOwnPropertyDescriptor(Example.prototype, 'send')!.value as object;
    const parameters = Reflect.getMetadata('swagger/apiParameters', method) as { name?: string; in: string }[];
    expect(parameters.map((p) => `${p.in} ${p.name ?? ''}`.trim()).sort()).toEqual(['body', 'path id', 'query after']);
  });
});
