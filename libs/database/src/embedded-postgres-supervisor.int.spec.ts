import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { RestartBudget } from './restart-budget.js';

/** Back and answering within this after a `kill -9` (measured: about 1 s; a loaded machine gets slack). */
const RECOVERY_BOUND_MS = 20_000;

async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<Record<string, unknown>>(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Retries `sql` until it succeeds; the time it took. */
async function queryUntilUp(url: string, sql: string, boundMs: number): Promise<{ rows: unknown[]; ms: number }> {
  const started = performance.now();
  for (;;) {
    try {
      return { rows: await query(url, sql), ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (performance.now() - started > boundMs) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('supervised embedded PostgreSQL', () => {
  it('is started again after a kill -9 of its postmaster, with its committed data, and a pool reconnects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-supervised-'));
    const events: string[] = [];
    const gaveUp: string[] = [];
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      persistent: false,
      supervise: {
        onCrash: (reason) => events.push(reason),
        onRestarted: (ms) => events.push(`restarted after ${ms} ms`),
        onGiveUp: (reason) => gaveUp.push(reason),
      },
    });
    const pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => undefined);
    try {
      await pool.query('CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
      for (let round = 1; round <= 2; round++) {
        const pid = await postmasterPid(dir);
        process.kill(pid, 'SIGKILL');
        // (An orphaned backend may still answer for a moment: no assertion on the outage itself.)
        const { rows, ms } = await queryUntilUp(server.url, 'SELECT v FROM kept', RECOVERY_BOUND_MS);
        expect(rows).toEqual([{ v: 42 }]);
        expect(ms).toBeLessThan(RECOVERY_BOUND_MS);
        process.stdout.write(`round ${round}: answering again ${ms} ms after kill -9\n`);
        expect(await postmasterPid(dir)).not.toBe(pid);
        // The same pool, unchanged: its broken connections are replaced on use.
        expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      }
      expect(events).toEqual([
        expect.stringMatching(/exited unexpectedly \(SIGKILL\); restarting/),
        expect.stringMatching(/^restarted after \d+ ms$/),
        expect.stringMatching(/exited unexpectedly \(SIGKILL\); restarting/),
        expect.stringMatching(/^restarted after \d+ ms$/),
      ]);
      expect(gaveUp).toEqual([]);
    } finally {
      await pool.end();
      await server.stop();
    }
  });

  it('past its budget of restarts gives up, saying why, and is not started again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-supervised-'));
    let gaveUp: (reason: string) => void = () => undefined;
    const givenUp = new Promise<string>((resolve) => (gaveUp = resolve));
    let restarts = 0;
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      persistent: false,
      supervise: {
        budget: new RestartBudget({ maxRestarts: 1, windowMs: 60_000 }),
        onRestarted: () => restarts++,
        onGiveUp: gaveUp,
      },
    });
    try {
      process.kill(await postmasterPid(dir), 'SIGKILL');
      await queryUntilUp(server.url, 'SELECT 1', RECOVERY_BOUND_MS);
      expect(restarts).toBe(1);
      const second = await postmasterPid(dir);
      process.kill(second, 'SIGKILL');
      expect(await givenUp).toMatch(
        /exited unexpectedly \(SIGKILL\); not restarting it: it was restarted 1 times within 60 s already/,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(restarts).toBe(1);
      await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });

  it('a stop asked for is not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-supervised-'));
    const seen: string[] = [];
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      persistent: false,
      supervise: { onCrash: (r) => seen.push(r), onGiveUp: (r) => seen.push(r) },
    });
    await server.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
  });

  it('a postmaster told to shut down by someone else (Ctrl-C reaches it first) is not restarted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-supervised-'));
    const crashes: string[] = [];
    const shutdowns: string[] = [];
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      persistent: false,
      supervise: {
        onCrash: (r) => crashes.push(r),
        onShutdown: (r) => shutdowns.push(r),
        onGiveUp: (r) => crashes.push(r),
      },
    });
    try {
      // SIGINT is PostgreSQL's fast shutdown: what a terminal's Ctrl-C sends the process group.
      process.kill(await postmasterPid(dir), 'SIGINT');
      const started = performance.now();
      while (shutdowns.length === 0 && performance.now() - started < RECOVERY_BOUND_MS) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(shutdowns).toHaveLength(1);
      expect(shutdowns[0]).toContain('shut down on request');
      expect(crashes).toEqual([]);
      await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
    } finally {
      await server.stop();
    }
  });
});
