import type { ArgumentsHost } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { HeraldExceptionFilter, toErrorResponse } from './error-filter.js';
import { JsonLogger } from './json-logger.js';

/** A logger that keeps what it was given. */
class Recording extends JsonLogger {
  readonly lines: { level: string; message: unknown }[] = [];
  override emit(level: string, message: unknown): void {
    this.lines.push({ level, message });
  }
}

function host(): { host: ArgumentsHost; statuses: number[] } {
  const statuses: number[] = [];
  const reply = {
    status: (code: number) => {
      statuses.push(code);
      return { send: () => undefined };
    },
    header: () => reply,
  };
  const request = { method: 'GET', ip: '127.0.0.1', headers: {} };
  const http = { getRequest: () => request, getResponse: () => reply };
  return { host: { switchToHttp: () => http } as unknown as ArgumentsHost, statuses };
}

class Stale extends Error {
  readonly code = 'PROJECTIONS.UNAVAILABLE';
}

describe('the error filter', () => {
  it('logs a 503 as a warning without its stack, once a second per code however many requests meet it', () => {
    const logger = new Recording('trace', () => undefined);
    const filter = new HeraldExceptionFilter(logger);
    const { host: h, statuses } = host();
    for (let i = 0; i < 50; i++) filter.catch(new Stale('membership.v1 is behind'), h);
    expect(statuses).toEqual(Array.from({ length: 50 }, () => 503));
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'unavailable: PROJECTIONS.UNAVAILABLE: membership.v1 is behind' },
    ]);
  });

  it('logs an unexpected error (500) with the error itself, every time', () => {
    const logger = new Recording('trace', () => undefined);
    const filter = new HeraldExceptionFilter(logger);
    const { host: h } = host();
    const bug = new Error('a bug');
    filter.catch(bug, h);
    filter.catch(bug, h);
    expect(logger.lines).toEqual([
      { level: 'error', message: bug },
      { level: 'error', message: bug },
    ]);
  });
});

describe('database failures at the edge', () => {
  const pgError = (code: string, message: string): Error => Object.assign(new Error(message), { code });

  it.each([
    ['disk full (SQLSTATE 53100)', pgError('53100', 'could not extend file "base/5/16384": No space left on device')],
    [
      'a WAL write that found no space',
      new Error('could not write to file "pg_wal/xlogtemp.1": No space left on device'),
    ],
    [
      'a port error caused by a full disk',
      Object.assign(new Error('append failed, retry: could not extend file'), {
        code: 'EVENT_STORE.UNAVAILABLE',
        cause: pgError('53100', 'could not extend file'),
      }),
    ],
    [
      "TypeORM's QueryFailedError around it",
      Object.assign(new Error('x'), { driverError: pgError('53100', 'could not extend file') }),
    ],
  ])('%s is 503 DATABASE.STORAGE_FULL, never 500', (_, error) => {
    const { status, body } = toErrorResponse(error);
    expect(status).toBe(503);
    expect(body.error.code).toBe('DATABASE.STORAGE_FULL');
  });

  it.each([
    ["pg's statement timeout on the client (a paused server)", new Error('Query read timeout')],
    ["pg-pool's wait for a connection", new Error('timeout exceeded when trying to connect')],
    ['a lost connection', new Error('Connection terminated unexpectedly')],
    ['the server restarting', pgError('57P03', 'the database system is starting up')],
    ['a cancelled statement', pgError('57014', 'canceling statement due to statement timeout')],
    ['out of memory', pgError('53200', 'out of memory')],
  ])('%s is 503 DATABASE.UNAVAILABLE', (_, error) => {
    const { status, body } = toErrorResponse(error);
    expect(status).toBe(503);
    expect(body.error.code).toBe('DATABASE.UNAVAILABLE');
  });

  it("keeps a port's own 503 code, and a constraint violation stays a 500", () => {
    const unavailable = Object.assign(new Error('event store unavailable'), {
      code: 'EVENT_STORE.UNAVAILABLE',
      cause: new Error('Query read timeout'),
    });
    expect(toErrorResponse(unavailable).body.error.code).toBe('EVENT_STORE.UNAVAILABLE');
    expect(toErrorResponse(pgError('23505', 'duplicate key')).status).toBe(500);
  });
});
