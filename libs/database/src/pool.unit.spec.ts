import { describe, expect, it } from 'vitest';
import { isTransientPgError } from './pool.js';

describe('isTransientPgError', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['socket gone', Object.assign(new Error('connect ENOENT /x/.s.PGSQL.5432'), { code: 'ENOENT' })],
    ['admin shutdown', Object.assign(new Error('terminating connection'), { code: '57P01' })],
    ['deadlock', Object.assign(new Error('deadlock detected'), { code: '40P01' })],
    ['connection exception', Object.assign(new Error('x'), { code: '08006' })],
    [
      'a session ended idle in a transaction (a paused server woken up)',
      Object.assign(new Error('terminating connection due to idle-in-transaction timeout'), { code: '25P03' }),
    ],
    ['terminated', new Error('Connection terminated unexpectedly')],
    ['a paused server (client-side statement timeout)', new Error('Query read timeout')],
    ['a statement timeout', Object.assign(new Error('canceling statement'), { code: '57014' })],
    ['a full disk', Object.assign(new Error('could not extend file'), { code: '53100' })],
  ])('retries %s', (_, error) => expect(isTransientPgError(error)).toBe(true));

  it.each([
    ['unique violation', Object.assign(new Error('duplicate key'), { code: '23505' })],
    ['syntax error', Object.assign(new Error('syntax'), { code: '42601' })],
    ['a plain bug', new TypeError('x is undefined')],
    ['not an error', 'oops'],
  ])('does not retry %s', (_, error) => expect(isTransientPgError(error)).toBe(false));
});
