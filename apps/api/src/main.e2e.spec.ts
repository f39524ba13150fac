/**
 * `npm start` as a newcomer runs it: the built app in its own process, on the embedded
 * PostgreSQL, stopped by a signal. Needs `npm run build` first (`npm test` does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../../dist/apps/api/src/main.js', import.meta.url));

interface Run {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function start(env: Record<string, string>): Run {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['DATABASE_URL', 'PORT', 'HERALD_DATA_DIR', 'LOG_LEVEL'].includes(k)),
  );
  // Its own process group, as in a terminal: Ctrl-C signals Herald and its PostgreSQL alike.
  const child = spawn(process.execPath, [MAIN], {
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const run: Run = {
    child,
    output: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  return run;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port: number, timeoutMs = 60_000): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) return await response.json();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('Herald did not become healthy');
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('npm start (built app, own process)', () => {
  const runs: Run[] = [];
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  });
  afterAll(() =>
    runs.forEach((r) => {
      try {
        process.kill(-r.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }),
  );

  it('serves /health on the embedded PostgreSQL, stops cleanly on SIGTERM and on Ctrl-C, and reuses its data directory', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-start-'));
    for (const stop of ['SIGTERM to Herald', 'Ctrl-C (SIGINT to the process group)'] as const) {
      const port = await freePort();
      const run = start({ PORT: String(port), HERALD_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
      runs.push(run);
      expect(await waitForHealth(port)).toMatchObject({ status: 'ok', database: { status: 'up' } });
      if (stop === 'SIGTERM to Herald') run.child.kill('SIGTERM');
      else process.kill(-run.child.pid!, 'SIGINT');
      expect(await run.exited).toBe(0);
      expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
      // Structured logs, one JSON object per line; a clean stop warns of nothing (connections
      // are closed before the database stops).
      const entries = run.output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: string; msg: string });
      // (On Ctrl-C PostgreSQL shuts down at the same time, so connections may warn.)
      const allowed = stop === 'SIGTERM to Herald' ? ['info'] : ['info', 'warn'];
      expect(entries.filter((e) => !allowed.includes(e.level))).toEqual([]);
      expect(entries.at(-1)?.msg).toBe('stopped');
    }
  });

  it('after Herald was killed (SIGKILL), the next start takes over its orphaned PostgreSQL', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-killed-'));
    const port = await freePort();
    const first = start({ PORT: String(port), HERALD_DATA_DIR: dataDir });
    runs.push(first);
    await waitForHealth(port);
    first.child.kill('SIGKILL');
    await first.exited;
    const second = start({ PORT: String(port), HERALD_DATA_DIR: dataDir });
    runs.push(second);
    expect(await waitForHealth(port)).toMatchObject({ status: 'ok' });
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('a wrong variable stops start-up with a message that names it', async () => {
    const run = start({ PORT: 'not-a-port' });
    runs.push(run);
    expect(await run.exited).toBe(2);
    expect(run.output).toContain('PORT');
  });

  it('an unreachable DATABASE_URL fails start-up with a clear message and no password', async () => {
    const port = await freePort();
    const run = start({
      DATABASE_URL: `postgres://herald:hunter2@127.0.0.1:${port}/herald`,
      DATABASE_CONNECT_TIMEOUT_MS: '500',
    });
    runs.push(run);
    expect(await run.exited).toBe(1);
    expect(run.output).toContain('cannot reach the database');
    expect(run.output).toContain('DATABASE_URL');
    expect(run.output).not.toContain('hunter2');
  });
});
