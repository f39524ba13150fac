import type { ArgumentsHost } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { HeraldExceptionFilter } from './error-filter.js';
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
