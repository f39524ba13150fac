import { chmod, mkdir, mkdtemp, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, runningEmbeddedPostgresUrl, startEmbeddedPostgres } from './embedded-postgres.js';

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

  it('refuses a data directory that a running Herald is using', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-embedded-'));
    const first = await startEmbeddedPostgres({ dataDir: dir });
    try {
      await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(/in use by another running Herald/);
      expect(await query(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });

  it('names the running server of a data directory to a tool, and nothing once it stopped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-embedded-'));
    expect(await runningEmbeddedPostgresUrl(dir)).toBeUndefined();
    const server = await startEmbeddedPostgres({ dataDir: dir });
    try {
      const url = await runningEmbeddedPostgresUrl(dir);
      expect(url).toMatch(new RegExp(`^postgresql://postgres:[^@]+@127\\.0\\.0\\.1:${server.port}/herald$`));
      expect(await query(url!, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await server.stop();
    }
    expect(await runningEmbeddedPostgresUrl(dir)).toBeUndefined();
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

  // CI runs as root; PostgreSQL itself refuses root, so the server runs as `postgres`.
  it.skipIf(userInfo().uid !== 0)(
    'as root: a data directory the postgres user cannot reach is a clear error',
    async () => {
      const locked = await mkdtemp(join(tmpdir(), 'herald-locked-'));
      await chmod(locked, 0o700);
      await mkdir(join(locked, 'inner'));
      const error = await startEmbeddedPostgres({ dataDir: join(locked, 'inner', 'data') }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EmbeddedPostgresError);
      expect((error as Error).message).toContain('cannot reach the data directory');
    },
  );
});
