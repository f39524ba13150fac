import { testDatabaseUrl } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { createPool, withClient } from './pool.js';

/**
 * A statement that outlives the pool's query timeout (here a slow one; a paused server
 * looks the same to the client) fails, and its connection is not handed out again: the
 * next statement does not queue behind the one still running on the server.
 */
describe('pool timeouts', () => {
  const timeouts = { queryTimeoutMs: 300, acquireTimeoutMs: 2_000 };

  it('a timed-out statement fails and closes its connection; the pool serves the next one at once', async () => {
    const pool = createPool({ connectionString: testDatabaseUrl(), max: 1, timeouts });
    try {
      const pidBefore = (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await expect(withClient(pool, (client) => client.query('SELECT pg_sleep(3), pg_backend_pid()'))).rejects.toThrow(
        'Query read timeout',
      );
      const started = performance.now();
      const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(rows[0]!.pid).not.toBe(pidBefore);
    } finally {
      await pool.end();
    }
  });

  it("pool.query's timeout (pg-pool's own release) and the promise form both leave a usable pool", async () => {
    const pool = createPool({ connectionString: testDatabaseUrl(), max: 1, timeouts });
    try {
      await expect(pool.query('SELECT pg_sleep(3)')).rejects.toThrow('Query read timeout');
      const started = performance.now();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(performance.now() - started).toBeLessThan(1_500);
      const client = await pool.connect();
      try {
        await expect(client.query('SELECT pg_sleep(3)')).rejects.toThrow('Query read timeout');
      } finally {
        client.release();
      }
      const again = performance.now();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(performance.now() - again).toBeLessThan(1_500);
    } finally {
      await pool.end();
    }
  });
});
