import { mkdtemp, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('embedded PostgreSQL', () => {
  const blockers: Server[] = [];
  afterAll(() => blockers.forEach((s) => s.close()));

  it('initialises a data directory, keeps the data across restarts, and stops cleanly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-embedded-'));
    const first = await startEmbeddedPostgres({ dataDir: dir });
    await query(first.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    await first.stop();
    await expect(stat(join(dir, 'pg', 'postmaster.pid'))).rejects.toThrow();

    const second = await startEmbeddedPostgres({ dataDir: dir });
    expect(await query(second.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
    await second.stop();
  });

  it('uses another port when the preferred one is taken', async () => {
    const blocker = createServer();
    blockers.push(blocker);
    const taken = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    const dir = await mkdtemp(join(tmpdir(), 'herald-embedded-'));
    const server = await startEmbeddedPostgres({ dataDir: dir, port: taken, persistent: false });
    expect(server.port).not.toBe(taken);
    expect(await query(server.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    await server.stop();
  });
});
