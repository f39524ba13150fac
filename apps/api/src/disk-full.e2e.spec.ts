/**
 * A full disk under PostgreSQL's data directory (README "What Herald survives"): the
 * embedded server's data directory on a small tmpfs of its own, filled with a filler file
 * until nothing more fits. Sends answer 503 with a clear code, nothing acknowledged is lost,
 * and once the filler is deleted service resumes by itself. Mounting needs root (or
 * CAP_SYS_ADMIN): where it is refused, the test is skipped saying so.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgres, ready, send, sendUntilAcknowledged, texts, type Answer } from './database-faults.testing.js';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';

const run = promisify(execFile);

/** Room for the cluster (about 40 MB), its first WAL segments (16 MB each) and Herald's tables. */
const FILESYSTEM_MB = 192;

let mountPoint: string | undefined;
let cannotMount: string | undefined;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'herald-disk-full-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${FILESYSTEM_MB}m,mode=0711`, 'tmpfs', dir]);
    mountPoint = dir;
  } catch (error) {
    cannotMount = `cannot mount a small filesystem here (needs root or CAP_SYS_ADMIN): ${(error as Error).message.trim()}`;
    await rmdir(dir).catch(() => undefined);
  }
});

afterAll(async () => {
  if (!mountPoint) return;
  await run('umount', ['-l', mountPoint]).catch(() => undefined);
  await rmdir(mountPoint).catch(() => undefined);
});

/** Writes zeros to `file` until the filesystem refuses (ENOSPC); the bytes written. */
async function fill(file: string): Promise<number> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  let written = 0;
  try {
    for (;;) {
      try {
        const { bytesWritten } = await handle.write(chunk);
        written += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOSPC') break;
        throw error;
      }
    }
    // The last pages, smaller than a chunk.
    for (const size of [65_536, 4_096, 512, 1]) {
      for (;;) {
        try {
          const { bytesWritten } = await handle.write(Buffer.alloc(size));
          written += bytesWritten;
          if (bytesWritten < size) break;
        } catch {
          break;
        }
      }
    }
  } finally {
    await handle.close();
  }
  return written;
}

/** Writes (and flushes) 4 MiB of WAL and nothing else; the error, if the server failed it. */
async function walWrite(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(`SELECT pg_logical_emit_message(false, 'herald-test', repeat('x', 4194304), true)`);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, boundMs: number): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await what();
    if (ok(value) || performance.now() - started > boundMs) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The supervisor's restart timeout here: a full disk must hold PostgreSQL down past it without Herald giving up. */
const RESTART_TIMEOUT_MS = 3_000;
/** How long the disk stays full once PostgreSQL went down for it: several restart timeouts. */
const HELD_FULL_MS = 4 * RESTART_TIMEOUT_MS;

describe('a full disk under the data directory', () => {
  it('answers 503 with a clear code, loses nothing acknowledged, and resumes when space is freed', async (context) => {
    if (!mountPoint) {
      process.stdout.write(`skipped: ${cannotMount}\n`);
      context.skip();
      return;
    }
    const dataDir = join(mountPoint, 'herald');
    await mkdir(dataDir);
    const db = await ownPostgres(dataDir, RESTART_TIMEOUT_MS);
    const log: string[] = [];
    let app: NestFastifyApplication | undefined;
    try {
      app = await testApp({}, db.server.url);
      const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
      const dm = await apiOf(app, ada).POST('/conversations/direct', { body: { userId: bob.userId } });
      const id = dm.data!.conversationId;
      const acknowledged: string[] = [];
      for (let i = 0; i < 5; i++) {
        if ((await send(app, ada, id, randomUUID(), `before ${i}`)).status === 201) acknowledged.push(`before ${i}`);
      }
      expect(acknowledged).toHaveLength(5);

      const filler = join(mountPoint, 'filler');
      const filled = await fill(filler);
      log.push(`filled ${Math.round(filled / 1024 / 1024)} MiB`);
      // Sends while full: PostgreSQL first fails the writes that need a new page (ERROR
      // 53100, "could not extend file"); a WAL write that finds no space is a PANIC, and the
      // server goes down (then cannot start: crash recovery must write). Send until three
      // are refused.
      const full: Answer[] = [];
      const started = performance.now();
      const crashed = (): boolean => db.said.some((s) => s.startsWith('crash'));
      for (let i = 0; performance.now() - started < 30_000 && !crashed(); i++) {
        if (full.filter((a) => a.status !== 201).length >= 3) break;
        const text = `full ${i}`;
        const answer = await send(app, ada, id, randomUUID(), text);
        full.push(answer);
        if (answer.status === 201) acknowledged.push(text);
        else await new Promise((r) => setTimeout(r, 100));
      }
      const refused = full.filter((a) => a.status !== 201);
      log.push(
        `while full: ${full.length - refused.length} acknowledged, refused: ` +
          [...new Set(refused.map((a) => `${a.status} ${a.code}`))].join(', '),
      );
      expect(refused.length).toBeGreaterThan(0);
      expect(refused[0]!.code).toBe('DATABASE.STORAGE_FULL');
      // Reads are still served, so the instance stays ready.
      expect((await ready(app)).status).toBe(200);
      expect(
        (await apiOf(app, bob).GET('/conversations/{id}/messages', { params: { path: { id } } })).response.status,
      ).toBe(200);
      if (!crashed()) {
        // Events go to the log table's last page, so every send needed a new page and none
        // wrote WAL. Another writer would (a read model with room in its pages, a
        // checkpoint): WAL records of 4 MiB, flushed, until past the WAL pages allocated.
        for (let i = 0; i < 32 && !crashed(); i++) {
          const failed = await walWrite(db.server.url);
          if (failed !== undefined) {
            log.push(`WAL write ${i + 1} of 4 MiB: ${failed}`);
            break;
          }
        }
        await until(
          () => Promise.resolve(crashed()),
          (down) => down,
          20_000,
        );
      }
      expect(crashed()).toBe(true);
      const outage: Answer[] = [];
      {
        // Down for lack of space, for several restart timeouts: Herald waits, live, not ready.
        const downAt = performance.now();
        while (performance.now() - downAt < HELD_FULL_MS) {
          outage.push(await send(app, ada, id, randomUUID(), 'refused'));
          expect((await apiOf(app).GET('/health/live')).response.status).toBe(200);
          expect((await ready(app)).status).toBe(503);
          await new Promise((r) => setTimeout(r, 500));
        }
        log.push(
          `down for lack of space ${HELD_FULL_MS} ms: refused ` +
            [...new Set(outage.map((a) => `${a.status} ${a.code}`))].join(', ') +
            `, slowest answer ${Math.max(...outage.map((a) => a.ms))} ms`,
        );
        expect(db.said.some((s) => s.startsWith('waiting: embedded PostgreSQL cannot start'))).toBe(true);
      }
      for (const answer of [...refused, ...outage]) {
        expect(answer.status).toBe(503);
        expect(['DATABASE.STORAGE_FULL', 'DATABASE.UNAVAILABLE', 'EVENT_STORE.UNAVAILABLE']).toContain(answer.code);
        expect(answer.retryAfter).toBe('1');
      }
      expect(db.said.filter((s) => s.startsWith('gave up'))).toEqual([]);

      await rm(filler);
      const freedAt = performance.now();
      const back = await until(
        () => ready(app!),
        (r) => r.status === 200,
        60_000,
      );
      const readyMs = Math.round(performance.now() - freedAt);
      expect(back.status).toBe(200);
      const after: Answer[] = [];
      expect(await sendUntilAcknowledged(app, ada, id, randomUUID(), 'after', performance.now() + 60_000, after)).toBe(
        true,
      );
      acknowledged.push('after');
      log.push(
        `space freed: ready in ${readyMs} ms, a send acknowledged in ${Math.round(performance.now() - freedAt)} ms`,
      );

      // Nothing acknowledged lost, nothing twice; the timeline (a projection) caught up.
      const timeline = await until(
        () => texts(app!, bob, id).catch((): string[] => []),
        (t) => acknowledged.every((a) => t.includes(a)),
        60_000,
      );
      for (const text of acknowledged) expect(timeline.filter((t) => t === text)).toHaveLength(1);
      log.push(`supervisor: ${db.said.join(' | ')}`);
    } finally {
      process.stdout.write(`${log.join('\n')}\n`);
      await app?.close().catch(() => undefined);
      await db.server.stop().catch(() => undefined);
    }
  }, 300_000);
});
