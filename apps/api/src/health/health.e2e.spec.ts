import { loadConfig } from '@herald/config';
import { startEmbeddedPostgres, type RunningPostgres } from '@herald/database';
import { EventStoreUnavailable, PostgresEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import type { Projection } from '@herald/projection-runtime';
import { READ_MODELS } from '@herald/projections';
import { eventually, TEST_JWT_SECRET, testDatabaseUrl, testEvent as event, uniqueId } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../bootstrap.js';
import { apiOf } from '../test-client.js';

const quiet = new JsonLogger('fatal');

function countingProjection(prefix: string, seen: string[]): Projection {
  return {
    name: `health-test:${prefix}`,
    filter: { streamPrefixes: [prefix] },
    apply: (events) => {
      seen.push(...events.map((e) => e.eventId));
      return Promise.resolve();
    },
  };
}

/** The status and the report: 200 when ready, 503 (the same report) when not; no report, undefined. */
async function health(app: NestFastifyApplication) {
  const { data, error, response } = await apiOf(app).GET('/health');
  const body = data ?? (error !== undefined && 'projections' in error ? error : undefined);
  return { status: response.status, body };
}

/** `/health/live` and `/health/ready`: the HTTP status and the body, answer or error. */
async function probes(app: NestFastifyApplication) {
  const api = apiOf(app);
  const [live, ready] = await Promise.all([api.GET('/health/live'), api.GET('/health/ready')]);
  return {
    live: { status: live.response.status, body: live.data },
    ready: {
      status: ready.response.status,
      body: ready.data ?? (ready.error !== undefined && 'status' in ready.error ? ready.error : undefined),
    },
  };
}

describe('GET /health and errors (API on PostgreSQL)', () => {
  const apps: NestFastifyApplication[] = [];
  const servers: RunningPostgres[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    for (const server of servers) await server.stop().catch(() => undefined);
  });

  it('reports the database, the event store position and each projection with its lag', async () => {
    const url = testDatabaseUrl();
    const prefix = `${uniqueId('h')}-`;
    const seen: string[] = [];
    const app = await createApp({
      jwtSecret: TEST_JWT_SECRET,
      config: loadConfig({}),
      databaseUrl: url,
      logger: quiet,
      projections: [countingProjection(prefix, seen)],
    });
    apps.push(app);
    const store = new PostgresEventStore({ connectionString: url });
    const { checkpoint } = await store.append(`${prefix}1`, [event('Pinged'), event('Pinged')], 'no_stream');
    await store.close();
    await eventually(() => seen.length === 2);
    const { status, body: report } = await health(app);
    expect(status).toBe(200);
    const body = report!;
    expect(body.status).toBe('ok');
    expect(body.database).toEqual({ status: 'up' });
    expect(body.eventStore.status).toBe('up');
    expect(body.eventStore.checkpoint! >= checkpoint).toBe(true);
    // Herald's own read models, and the test's.
    expect(body.projections.map((p) => p.name)).toEqual([...READ_MODELS.map((m) => m.name), `health-test:${prefix}`]);
    const mine = body.projections.find((p) => p.name === `health-test:${prefix}`);
    expect(mine).toMatchObject({ state: 'running' });
    expect(typeof mine!.lag).toBe('number');
  });

  it('answers unknown routes and malformed or oversized bodies with the shared error body', async () => {
    const app = apps[0]!;
    // On app.inject on purpose: a route the document does not have, and bodies it forbids.
    const notFound = await app.inject({ method: 'GET', url: '/no/such/route' });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json()).toEqual({ error: { code: 'REQUEST.NOT_FOUND', message: expect.any(String) as string } });
    const malformed = await app.inject({
      method: 'POST',
      url: '/health',
      headers: { 'content-type': 'application/json' },
      payload: '{"a":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    const large = await app.inject({
      method: 'POST',
      url: '/health',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(large.statusCode).toBe(413);
    expect(large.json()).toMatchObject({ error: { code: 'REQUEST.TOO_LARGE' } });
  });

  it('when the database goes away: reports down without crashing, and recovers when it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-outage-'));
    let server = await startEmbeddedPostgres({ dataDir: dir });
    servers.push(server);
    const prefix = `${uniqueId('o')}-`;
    const seen: string[] = [];
    const app = await createApp({
      jwtSecret: TEST_JWT_SECRET,
      config: loadConfig({}),
      databaseUrl: server.url,
      logger: quiet,
      projections: [countingProjection(prefix, seen)],
    });
    apps.push(app);
    expect((await health(app)).status).toBe(200);
    expect(await probes(app)).toEqual({
      live: { status: 200, body: { status: 'ok' } },
      ready: { status: 200, body: { status: 'ok' } },
    });

    const writer = new PostgresEventStore({ connectionString: server.url });
    await writer.append(`${prefix}w`, [event('Pinged')], 'no_stream');
    await server.stop();
    // A write while the database is away fails with a typed, retryable error.
    await expect(writer.append(`${prefix}w`, [event('Pinged')], 0)).rejects.toBeInstanceOf(EventStoreUnavailable);
    const down = await health(app);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'down', database: { status: 'down' }, eventStore: { status: 'down' } });
    // Not ready, but live: a supervisor must not restart Herald for its database.
    expect(await probes(app)).toEqual({
      live: { status: 200, body: { status: 'ok' } },
      ready: { status: 503, body: { status: 'down' } },
    });

    server = await startEmbeddedPostgres({ dataDir: dir, port: server.port });
    servers.push(server);
    await eventually(async () => (await health(app)).status === 200);
    // Ready again; a projection may still be catching up (degraded, which serves).
    const { ready } = await probes(app);
    expect(ready.status).toBe(200);
    expect(['ok', 'degraded']).toContain(ready.body?.status);
    // The same store writes again once the database is back, and the projection follows.
    expect((await writer.append(`${prefix}w`, [event('Pinged')], 0)).nextExpectedRevision).toBe(1);
    await writer.append(`${prefix}1`, [event('Pinged')], 'no_stream');
    await writer.close();
    // Distinct: an apply cut off by the outage rolled back, and its batch came again.
    await eventually(() => new Set(seen).size === 3);
    expect((await health(app)).body?.projections.find((p) => p.name === `health-test:${prefix}`)).toMatchObject({
      state: 'running',
    });
  });

  it('with a supervised embedded PostgreSQL, a kill -9 of it heals by itself: ready again, and writes succeed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-supervised-'));
    const gaveUp: string[] = [];
    let restarted = false;
    const server = await startEmbeddedPostgres({
      dataDir: dir,
      persistent: false,
      supervise: { onRestarted: () => (restarted = true), onGiveUp: (reason) => gaveUp.push(reason) },
    });
    servers.push(server);
    const app = await createApp({
      jwtSecret: TEST_JWT_SECRET,
      config: loadConfig({}),
      databaseUrl: server.url,
      logger: quiet,
    });
    apps.push(app);
    expect((await probes(app)).ready.status).toBe(200);
    const prefix = `${uniqueId('k')}-`;
    const writer = new PostgresEventStore({ connectionString: server.url });
    await writer.append(`${prefix}1`, [event('Pinged')], 'no_stream');

    const pid = Number((await readFile(join(dir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    // Until the new server is up, answers may still come from the old one's last backends.
    await eventually(() => restarted, 20_000);
    await eventually(async () => {
      const { live, ready } = await probes(app);
      expect(live.status).toBe(200);
      return ready.status === 200 && (await health(app)).body?.status === 'ok';
    }, 20_000);
    const healedMs = Math.round(performance.now() - killedAt);
    process.stdout.write(`/health/ready 200 and /health ok ${healedMs} ms after kill -9\n`);
    expect(healedMs).toBeLessThan(20_000);
    // The store's pool reconnected: the same writer appends again.
    expect((await writer.append(`${prefix}1`, [event('Pinged')], 0)).nextExpectedRevision).toBe(1);
    await writer.close();
    expect(gaveUp).toEqual([]);
  });
});
