import { HttpException, HttpStatus } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { EdgeError, ErrorBodySchema, STATUS_BY_CODE, type DomainErrorCode } from './error-codes.js';
import { toErrorResponse } from './error-filter.js';
import { RequestInvalid } from './validation.js';

class Coded extends Error {
  constructor(readonly code: string) {
    super(`refused: ${code}`);
  }
}

describe('error codes', () => {
  it('a code without a status does not compile', () => {
    // @ts-expect-error every code of the union needs its status
    const partial = { 'REQUEST.INVALID': HttpStatus.BAD_REQUEST } satisfies Record<DomainErrorCode, HttpStatus>;
    expect(partial).toBeDefined();
  });

  it("a refusal whose code is not in the edge's union does not compile", () => {
    class Unlisted extends EdgeError {
      // @ts-expect-error: a code outside EdgeErrorCode (it would answer 500 at run time)
      readonly code = 'REQUEST.SOMETHING_NEW';
    }
    expect(toErrorResponse(new Unlisted('no')).status).toBe(500);
  });

  it('each code answers its status, in the one error body', () => {
    for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
      const { status: answered, body } = toErrorResponse(new Coded(code));
      expect(answered, code).toBe(status);
      expect(ErrorBodySchema.parse(body)).toEqual({ error: { code, message: `refused: ${code}` } });
    }
  });

  it('a refused request carries its details; the framework answers and the unexpected fit the body too', () => {
    const invalid = toErrorResponse(
      new RequestInvalid('Invalid request body', [{ path: 'text', problem: 'too long' }]),
    );
    expect(ErrorBodySchema.parse(invalid.body).error.details).toEqual([{ path: 'text', problem: 'too long' }]);
    for (const exception of [new HttpException('Cannot GET /x', 404), { statusCode: 418 }, new Error('a bug')]) {
      expect(ErrorBodySchema.safeParse(toErrorResponse(exception).body).success).toBe(true);
    }
    expect(toErrorResponse({ statusCode: 418 }).body.error.code).toBe('HTTP.418');
    expect(toErrorResponse(new Coded('NOT.A_CODE'))).toMatchObject({
      status: 500,
      body: { error: { code: 'INTERNAL' } },
    });
  });
});
