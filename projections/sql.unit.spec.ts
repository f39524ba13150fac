import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { select, toPage } from './sql.js';

const answering = (rows: unknown) => ({ query: () => Promise.resolve(rows) });

describe('typed rows', () => {
  it('a row as its schema says is answered typed', async () => {
    const rows = await select(answering([{ n: 1 }]), z.object({ n: z.number() }), 'SELECT', []);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('a row unlike its schema (a bigint left as text) fails the query rather than lying about its type', async () => {
    await expect(select(answering([{ n: '1' }]), z.object({ n: z.number() }), 'SELECT', [])).rejects.toThrow(
      z.ZodError,
    );
  });
});

describe('a page read with limit + 1 rows', () => {
  it('a full page with a row more names the last row shown as the next cursor', () => {
    expect(toPage([1, 2, 3], 2, String)).toEqual({ rows: [1, 2], nextCursor: '2' });
  });

  it('a full last page has no next cursor, nor has a short one', () => {
    expect(toPage([1, 2], 2, String)).toEqual({ rows: [1, 2], nextCursor: null });
    expect(toPage([], 2, String)).toEqual({ rows: [], nextCursor: null });
  });
});
