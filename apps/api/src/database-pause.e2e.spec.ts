/**
 * A paused PostgreSQL (README "What Herald survives"): every process of the server stopped
 * (SIGSTOP) for 10 s, as a frozen VM or a stalled disk would leave it. Requests answer 503
 * promptly instead of waiting for the pause to end, /health/ready says so, nothing
 * acknowledged is lost, a send retried with its clientMessageId lands once, and after
 * SIGCONT everything resumes by itself. On a PostgreSQL of its own: pausing the suite's
 * shared server would stall every other test file.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ownPostgres,
  pauser,
  ready,
  resume,
  send,
  sendUntilAcknowledged,
  texts,
  type Answer,
} from './database-faults.testing.js';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';

const PAUSE_MS = 10_000;
/**
 * A request meets the pause at its first statement: a free connection's statement times
 * out after DATABASE_QUERY_TIMEOUT_MS (3 s), a wait for a connection after
 * DATABASE_ACQUIRE_TIMEOUT_MS (3 s). At most about both (measured 6.0 s for a send queued
 * behind the burst), and slack for a loaded machine.
 */
const ANSWER_BOUND_MS = 9_000;
/** /health/ready's probes give up after 1 s (HEALTH_PROBE_TIMEOUT_MS). */
const READY_BOUND_MS = 3_000;
/** Ready again, and sends acknowledged, within this after SIGCONT. */
const RECOVERY_BOUND_MS = 20_000;

/** A read whose authorization a read model decides fails closed first (ADR 009). */
const UNAVAILABLE = ['DATABASE.UNAVAILABLE', 'EVENT_STORE.UNAVAILABLE', 'PROJECTIONS.UNAVAILABLE'];

let dir: string;
let db: Awaited<ReturnType<typeof ownPostgres>>;
let app: NestFastifyApplication;
let paused: number[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'herald-pause-'));
  db = await ownPostgres(dir);
  app = await testApp({}, db.server.url);
});

afterAll(async () => {
  resume(paused);
  await app?.close();
  await db?.server.stop();
});

async function until<T>(what: () => Promise<T>, ok: (value: T) => boolean, boundMs: number): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await what();
    if (ok(value) || performance.now() - started > boundMs) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a paused PostgreSQL (SIGSTOP of the postmaster and every process it started, 10 s)', () => {
  it('answers 503 promptly while paused, loses nothing, and resumes by itself after SIGCONT', async () => {
    const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
    const dm = await apiOf(app, ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    expect(dm.response.status).toBe(201);
    const id = dm.data!.conversationId;
    const expected: string[] = [];
    for (let i = 0; i < 3; i++) {
      const text = `before ${i}`;
      expect((await send(app, ada, id, randomUUID(), text)).status).toBe(201);
      expected.push(text);
    }
    expect((await ready(app)).status).toBe(200);

    // A burst of sends in flight when the pause begins: appends and projection batches
    // meet it mid-statement. Each is acknowledged or refused; none may land twice.
    const burst = Array.from({ length: 40 }, (_, i) => ({ clientMessageId: randomUUID(), text: `burst ${i}` }));
    const stop = await pauser(db.clusterDir);
    const burstAnswers = Promise.all(burst.map((b) => send(app, ada, id, b.clientMessageId, b.text)));
    await new Promise((r) => setTimeout(r, 3));
    paused = await stop();
    const pausedAt = performance.now();
    const during: Answer[] = [];
    // A client that keeps retrying one send (same clientMessageId) through the pause.
    const retried: Answer[] = [];
    const retryingId = randomUUID();
    const retrying = sendUntilAcknowledged(
      app,
      bob,
      id,
      retryingId,
      'retried through the pause',
      pausedAt + PAUSE_MS + RECOVERY_BOUND_MS,
      retried,
    );
    // A send that times out: 503 now; retried after the pause with the same clientMessageId.
    const timedOutId = randomUUID();
    let probes: { ready: { status: number; ms: number }; live: number; liveMs: number }[] = [];
    try {
      during.push(await send(app, ada, id, timedOutId, 'timed out during the pause'));
      const readStarted = performance.now();
      const read = await apiOf(app, ada).GET('/conversations/{id}/messages', { params: { path: { id } } });
      during.push({
        status: read.response.status,
        code: (read.error as { error?: { code?: string } } | undefined)?.error?.code,
        retryAfter: read.response.headers.get('retry-after'),
        ms: Math.round(performance.now() - readStarted),
      });
      while (performance.now() - pausedAt < PAUSE_MS) {
        const liveStarted = performance.now();
        const live = await apiOf(app).GET('/health/live');
        const liveMs = Math.round(performance.now() - liveStarted);
        probes = [...probes, { ready: await ready(app), live: live.response.status, liveMs }];
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      resume(paused);
      paused = [];
    }
    const resumedAt = performance.now();

    // While paused: prompt 503s in the one error body, with Retry-After.
    for (const answer of [...during, ...retried.filter((a) => a.status >= 300)]) {
      expect(answer.status).toBe(503);
      expect(UNAVAILABLE).toContain(answer.code);
      expect(answer.retryAfter).toBe('1');
    }
    for (const answer of during) expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(probes.length).toBeGreaterThan(2);
    for (const probe of probes) {
      expect(probe.ready.status).toBe(503);
      expect(probe.ready.ms).toBeLessThan(READY_BOUND_MS);
      expect(probe.live).toBe(200);
    }

    // After SIGCONT: ready again, the retrying client acknowledged, by itself.
    const back = await until(
      () => ready(app),
      (r) => r.status === 200,
      RECOVERY_BOUND_MS,
    );
    expect(back.status).toBe(200);
    const readyAfterMs = Math.round(performance.now() - resumedAt);
    expect(await retrying).toBe(true);
    expected.push('retried through the pause');
    // The send that answered 503 may or may not have been written: its retry lands it once.
    const again: Answer[] = [];
    expect(
      await sendUntilAcknowledged(
        app,
        ada,
        id,
        timedOutId,
        'timed out during the pause',
        performance.now() + RECOVERY_BOUND_MS,
        again,
      ),
    ).toBe(true);
    expected.push('timed out during the pause');
    // The burst: what was refused is retried with its clientMessageId, as a client would.
    const burstSeen = await burstAnswers;
    for (const answer of burstSeen.filter((a) => a.status >= 300)) {
      expect(answer.status).toBe(503);
      expect(UNAVAILABLE).toContain(answer.code);
    }
    for (const [index, b] of burst.entries()) {
      if (burstSeen[index]!.status >= 300) {
        expect(
          await sendUntilAcknowledged(
            app,
            ada,
            id,
            b.clientMessageId,
            b.text,
            performance.now() + RECOVERY_BOUND_MS,
            [],
          ),
        ).toBe(true);
      }
      expected.push(b.text);
    }
    const after = await send(app, ada, id, randomUUID(), 'after the pause');
    expect(after.status).toBe(201);
    expected.push('after the pause');
    const sendAfterMs = Math.round(performance.now() - resumedAt);

    // Nothing acknowledged lost, nothing twice: the timeline (a projection, which resumed
    // from its checkpoint) holds each message once.
    const timeline = await until(
      () => texts(app, bob, id),
      (t) => expected.every((e) => t.includes(e)),
      RECOVERY_BOUND_MS,
    );
    expect([...timeline].sort()).toEqual([...expected].sort());
    // Every projection running again (none stopped at an event, none still retrying).
    const health = await until(
      async () => (await apiOf(app).GET('/health')).data,
      (h) => h?.status === 'ok',
      RECOVERY_BOUND_MS,
    );
    expect(health?.status).toBe('ok');
    process.stdout.write(
      `paused ${PAUSE_MS} ms: ${during.map((a) => a.code).join(', ')}; 503 after ${during.map((a) => a.ms).join(', ')} ms; ` +
        `/health/ready 503 after ${Math.max(...probes.map((p) => p.ready.ms))} ms at most; ` +
        `burst of ${burst.length} in flight: ${burstSeen.filter((a) => a.status < 300).length} acknowledged, ` +
        `${burstSeen.filter((a) => a.status === 503).length} answered 503 (then retried); ` +
        `${retried.length - 1} retries answered 503; after SIGCONT ready in ${readyAfterMs} ms, ` +
        `all sends done in ${sendAfterMs} ms\n`,
    );
    expect(db.said.filter((s) => !s.startsWith('shutdown'))).toEqual([]);
  }, 120_000);
});
