/**
 * Herald scaled out, on this machine, from the built apps (`npm test` builds them): two API
 * processes (RUN_PROJECTIONS=false), two projectors (one active, one standing by), one
 * relay, on one PostgreSQL (the test run's, as an external DATABASE_URL) and librdkafka's
 * mock Kafka cluster, with traces sent to a collector this test stands in for.
 *
 * Clients on both APIs chat and see each other's messages live, with no gap and no
 * duplicate; typing and presence cross processes. The active projector is killed (`kill
 * -9`): the standby takes over, and the read models equal a rebuild from zero into a fresh
 * database. One API is killed: its client reconnects to the other and catches up with
 * nothing lost. Kafka has every event in order, the request's trace continues into its
 * record's headers and into the spans of both the API and the relay, and every app's
 * /metrics exports what the metrics catalogue (and so the Grafana dashboard) says it does.
 */
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore } from '@herald/event-store';
import { streamIdOf, topicName, type WireEvent } from '@herald/events';
import { exportedFamilies, type HeraldApp } from '@herald/observability';
import {
  createReadModelDataSource,
  PROJECTION_RUNTIME_MIGRATIONS,
  ProjectionRunner,
  RunnerGroup,
} from '@herald/projection-runtime';
import { READ_MODELS, readModelMigrations, readModelProjections } from '@herald/projections';
import {
  collectRecords,
  eventually,
  freshDatabase,
  kafkaMockUnavailable,
  MOCK_CLUSTER_NOTE,
  startKafkaMock,
  TEST_JWT_SECRET,
  uniqueId,
  type KafkaMock,
} from '@herald/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket, type Frame, type TestSocket } from './test-socket.js';

const dist = (app: string): string => fileURLToPath(new URL(`../../../dist/apps/${app}/src/main.js`, import.meta.url));
const unavailable = kafkaMockUnavailable();
if (unavailable) console.warn(`[scale-out] skipped: ${unavailable}`);

/** The lease the projectors hold their locks with here (the default is 5 s). */
const LEASE_MS = 2_000;

interface Proc {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function start(name: string, app: string, env: Record<string, string>): Promise<Proc> {
  const port = await freePort();
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('KAFKA_') && !k.startsWith('OTEL_') && !['DATABASE_URL', 'PORT', 'LOG_LEVEL'].includes(k),
    ),
  );
  const child = spawn(process.execPath, [dist(app)], {
    env: { ...base, LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    name,
    port,
    child,
    output: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stdout.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (proc.output += chunk.toString()));
  return proc;
}

const url = (proc: Proc, path: string): string => `http://127.0.0.1:${proc.port}${path}`;

async function json<T>(proc: Proc, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url(proc, path), init);
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

interface ProjectionRow {
  name: string;
  state: string;
  lag: number | null;
}

async function health(proc: Proc): Promise<{ status: string; projections: ProjectionRow[] } | undefined> {
  try {
    const { status, body } = await json<{ status: string; projections: ProjectionRow[] }>(proc, '/health');
    return status === 200 ? body : undefined;
  } catch {
    return undefined;
  }
}

const states = async (proc: Proc): Promise<string[]> => (await health(proc))?.projections.map((p) => p.state) ?? [];

/** A collector of OTLP/HTTP JSON spans: what the apps export when OTEL_EXPORTER_OTLP_ENDPOINT names it. */
interface CollectedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: number;
}

async function otlpCollector(): Promise<{ endpoint: string; spans: CollectedSpan[]; server: Server }> {
  const spans: CollectedSpan[] = [];
  const hex = (id: unknown): string =>
    typeof id === 'string' && /^[0-9a-f]*$/i.test(id)
      ? id.toLowerCase()
      : Buffer.from(String(id), 'base64').toString('hex');
  const server = createHttpServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      try {
        const parsed = JSON.parse(body) as {
          resourceSpans?: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans?: {
              spans?: { name: string; traceId: string; spanId: string; parentSpanId?: string; kind: number }[];
            }[];
          }[];
        };
        for (const rs of parsed.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                service,
                name: s.name,
                traceId: hex(s.traceId),
                spanId: hex(s.spanId),
                parentSpanId: s.parentSpanId ? hex(s.parentSpanId) : '',
                kind: s.kind,
              });
            }
          }
        }
      } catch {
        // not JSON: counted as nothing
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

/** Every read model table, each row as JSON, sorted: two databases with the same read models dump the same. */
async function dumpReadModels(databaseUrl: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = (
      await client.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'rm\\_%' ORDER BY tablename`,
      )
    ).rows.map((r) => r.tablename);
    const dump: Record<string, string[]> = {};
    for (const table of tables) {
      const rows = await client.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM ${table} t`);
      dump[table] = rows.rows.map((r) => r.row).sort();
    }
    return dump;
  } finally {
    await client.end();
  }
}

describe.skipIf(unavailable !== undefined)(
  `Herald scaled out: 2 APIs, 2 projectors, a relay (${unavailable ?? MOCK_CLUSTER_NOTE})`,
  () => {
    const procs: Proc[] = [];
    let mock: KafkaMock;
    let collector: Awaited<ReturnType<typeof otlpCollector>>;
    let databaseUrl: string;
    const prefix = `t${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      [mock, collector, databaseUrl] = await Promise.all([startKafkaMock(), otlpCollector(), freshDatabase()]);
    });
    afterAll(async () => {
      for (const proc of procs) proc.child.kill('SIGKILL');
      await mock?.stop();
      collector?.server.close();
    });

    it('chats across processes live, survives the active projector and an API killed, and the read models equal a rebuild', async () => {
      const common = {
        DATABASE_URL: databaseUrl,
        JWT_SECRET: TEST_JWT_SECRET,
        PROJECTION_LEASE_MS: String(LEASE_MS),
        EVENT_STORE_POLL_INTERVAL_MS: '100',
      };
      const apiEnv = {
        ...common,
        RUN_PROJECTIONS: 'false',
        PRESENCE_HEARTBEAT_MS: '500',
        RATE_LIMIT_IP_PER_SECOND: '100000',
        RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
        RATE_LIMIT_USER_PER_SECOND: '100000',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      };
      const kafkaEnv = {
        KAFKA_BROKERS: mock.brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_CREATE_TOPICS: 'false',
        KAFKA_IDEMPOTENT: 'false',
      };
      const began = Date.now();

      // The first projector migrates and takes every lock; then the rest, side by side.
      const projectorA = await start('projector A', 'projector', common);
      procs.push(projectorA);
      await eventually(async () => {
        const s = await states(projectorA);
        return s.length === READ_MODELS.length && s.every((state) => state === 'running');
      }, 60_000);
      const [projectorB, api1, api2, relay] = await Promise.all([
        start('projector B', 'projector', common),
        start('api 1', 'api', apiEnv),
        start('api 2', 'api', apiEnv),
        start('relay', 'relay', { ...common, ...kafkaEnv, OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint }),
      ]);
      procs.push(projectorB, api1, api2, relay);
      await eventually(
        async () =>
          (await states(projectorB)).every((s) => s === 'standby') &&
          (await states(projectorB)).length === READ_MODELS.length,
        60_000,
      );
      for (const api of [api1, api2]) {
        await eventually(async () => (await health(api))?.status === 'ok', 60_000);
        // An API that runs no projection follows them: `remote`, with the projector's lag.
        expect(await states(api)).toEqual(READ_MODELS.map(() => 'remote'));
      }
      await eventually(async () => (await json<{ status: string }>(relay, '/health/ready')).status === 200, 60_000);
      console.info(`[scale-out] 6 processes up in ${Date.now() - began} ms`);

      // Two users, one on each API; a group of both.
      const register = async (api: Proc, name: string): Promise<{ userId: string; token: string }> => {
        const { status, body } = await json<{ userId: string; accessToken: string }>(api, '/auth/register', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: uniqueId(name).toLowerCase(), password: 'password-1', displayName: name }),
        });
        expect(status).toBe(201);
        return { userId: body.userId, token: body.accessToken };
      };
      const [alice, bob] = await Promise.all([register(api1, 'alice'), register(api2, 'bob')]);
      const authed = (token: string, body?: unknown, traceparent?: string): RequestInit => ({
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(traceparent ? { traceparent } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const created = await json<{ conversationId: string; seq: number; checkpoint: string }>(
        api1,
        '/conversations/groups',
        authed(alice.token, { name: 'scale-out', memberIds: [bob.userId] }),
      );
      expect(created.status).toBe(201);
      const conversationId = created.body.conversationId;

      const socketOn = async (api: Proc, token: string, from: number): Promise<TestSocket> => {
        const socket = await openSocket(`127.0.0.1:${api.port}`, token);
        socket.send({ type: 'sync', conversations: { [conversationId]: from } });
        await eventually(() => socket.frames.some((f) => f.type === 'synced' && f.conversationId === conversationId));
        return socket;
      };
      const aliceSocket = await socketOn(api1, alice.token, 0);
      const bobSocket = await socketOn(api2, bob.token, 0);

      // Presence and typing cross processes (PostgreSQL LISTEN/NOTIFY).
      aliceSocket.send({ type: 'presence', userIds: [bob.userId] });
      await eventually(() =>
        aliceSocket.frames.some(
          (f) => f.type === 'presence' && f.users?.some((u) => u.userId === bob.userId && u.online),
        ),
      );
      bobSocket.send({ type: 'typing', conversationId });
      await eventually(() =>
        aliceSocket.frames.some(
          (f) => f.type === 'typing' && f.userId === bob.userId && f.conversationId === conversationId,
        ),
      );

      // They chat, each on their own API; one send carries a caller's trace.
      const traceId = randomBytes(16).toString('hex');
      const clientTraceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
      const send = async (api: Proc, token: string, text: string, traceparent?: string): Promise<number> => {
        const { status, body } = await json<{ seq: number }>(
          api,
          `/conversations/${conversationId}/messages`,
          authed(token, { text, clientMessageId: randomUUID() }, traceparent),
        );
        expect(status).toBe(201);
        return body.seq;
      };
      const seqs: number[] = [];
      for (let i = 0; i < 10; i++) {
        seqs.push(
          ...(await Promise.all([
            send(api1, alice.token, `a${i}`),
            // On the API that lives to the end: API 1 is killed before its spans' next export.
            send(api2, bob.token, `b${i}`, i === 3 ? clientTraceparent : undefined),
          ])),
        );
      }
      const last = Math.max(...seqs);
      /** The seqs of message events a socket received, in order: all of 1..last, each once. */
      const received = (socket: TestSocket): number[] =>
        socket.frames
          .filter((f: Frame) => f.type === 'event' && f.conversationId === conversationId)
          .map((f) => f.seq!);
      const contiguous = (from: number, to: number): number[] =>
        Array.from({ length: to - from + 1 }, (_, i) => from + i);
      await eventually(() => received(aliceSocket).at(-1) === last && received(bobSocket).at(-1) === last);
      expect(received(aliceSocket)).toEqual(contiguous(1, last));
      expect(received(bobSocket)).toEqual(contiguous(1, last));

      // kill -9 of the active projector while sends go on: the standby takes over.
      const killedAt = Date.now();
      projectorA.child.kill('SIGKILL');
      const during = [await send(api2, bob.token, 'during the takeover'), await send(api1, alice.token, 'and another')];
      await eventually(async () => {
        const s = await states(projectorB);
        return s.length === READ_MODELS.length && s.every((state) => state === 'running');
      }, 10_000);
      const takeoverMs = Date.now() - killedAt;
      console.info(`[scale-out] the standby projector took over ${takeoverMs} ms after kill -9`);
      // The lock of a killed process is freed at once; the standby tries every second.
      expect(takeoverMs).toBeLessThan(LEASE_MS + 3_000);
      // Read-your-writes across processes: a read on the other API after a send waits for the new projector.
      const after = await json<{ checkpoint: string }>(
        api1,
        `/conversations/${conversationId}/messages`,
        authed(alice.token, { text: 'read me', clientMessageId: randomUUID() }),
      );
      const read = await json<{ messages: { seq: number; text: string }[] }>(
        api2,
        `/conversations/${conversationId}/messages?after=${encodeURIComponent(after.body.checkpoint)}`,
        authed(bob.token),
      );
      expect(read.status).toBe(200);
      expect(read.body.messages.map((m) => m.text)).toContain('read me');
      expect(during.every((seq) => read.body.messages.some((m) => m.seq === seq))).toBe(true);

      // kill -9 of API 1: Alice reconnects to API 2 from the last seq she saw, while Bob goes on.
      const aliceSaw = received(aliceSocket).at(-1)!;
      api1.child.kill('SIGKILL');
      expect(await aliceSocket.closed).toBe(1006);
      const meanwhile = [
        await send(api2, bob.token, 'while Alice was away'),
        await send(api2, bob.token, 'still away'),
      ];
      const aliceAgain = await socketOn(api2, alice.token, aliceSaw);
      const lastNow = Math.max(...meanwhile);
      await eventually(() => received(aliceAgain).at(-1) === lastNow && received(bobSocket).at(-1) === lastNow);
      expect(received(aliceAgain)).toEqual(contiguous(aliceSaw + 1, lastNow));
      expect(received(bobSocket)).toEqual(contiguous(1, lastNow));
      const seenByAlice = [...received(aliceSocket), ...received(aliceAgain)];
      expect(seenByAlice).toEqual(contiguous(1, lastNow));

      // Kafka: every event of the conversation, in order; the traced send's record carries its trace.
      const { records, stop } = await collectRecords(mock.brokers, [topicName('conversation', prefix)]);
      const ofConversation = (): WireEvent[] =>
        records
          .map((r) => JSON.parse(r.value) as WireEvent)
          .filter((e) => e.streamId === streamIdOf('conversation', conversationId));
      await eventually(() => new Set(ofConversation().map((e) => e.eventId)).size === lastNow + 1, 30_000);
      const revisions = [...new Map(ofConversation().map((e) => [e.eventId, e.streamRevision])).values()];
      expect(revisions).toEqual(contiguous(0, lastNow));
      const traced = records.find((r) => r.headers.ce_traceparent?.split('-')[1] === traceId);
      expect(traced, 'the record of the send that came with a traceparent').toBeDefined();
      const [, recordTrace, recordParent] = traced!.headers.traceparent!.split('-');
      expect(recordTrace).toBe(traceId);
      await stop();

      // Traces: the API's server span and the relay's publish span are in the caller's trace.
      await eventually(
        () =>
          collector.spans.some(
            (s) => s.traceId === traceId && s.service === 'herald-api' && s.name === 'POST /conversations/:id/messages',
          ) && collector.spans.some((s) => s.traceId === traceId && s.service === 'herald-relay'),
        15_000,
      );
      const publish = collector.spans.find((s) => s.traceId === traceId && s.service === 'herald-relay')!;
      expect(publish.spanId).toBe(recordParent);
      const serverSpan = collector.spans.find(
        (s) => s.traceId === traceId && s.name === 'POST /conversations/:id/messages',
      )!;
      expect(serverSpan.parentSpanId).toBe(clientTraceparent.split('-')[2]);

      // Every app's /metrics exports what the catalogue says it does (and so what the dashboard may use).
      const scrape = async (proc: Proc, app: HeraldApp): Promise<void> => {
        const text = await (await fetch(url(proc, '/metrics'))).text();
        const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
        expect(
          exportedFamilies(app).filter((n) => !families.has(n)),
          `${proc.name} /metrics`,
        ).toEqual([]);
      };
      await scrape(api2, 'api');
      await scrape(projectorB, 'projector');
      await scrape(relay, 'relay');
      const apiMetrics = await (await fetch(url(api2, '/metrics'))).text();
      expect(apiMetrics).toMatch(
        /herald_http_request_duration_seconds_count\{method="POST",route="\/conversations\/:id\/messages",status="201"\} [1-9]/,
      );
      expect(apiMetrics).toMatch(/herald_commands_total\{type="SendMessage",outcome="accepted"\} [1-9]/);
      expect(apiMetrics).toMatch(/herald_websocket_connections 2/);
      const projectorMetrics = await (await fetch(url(projectorB, '/metrics'))).text();
      expect(projectorMetrics).toMatch(/herald_projection_active\{projection="timeline.v1"\} 1/);

      // The read models the standby finished equal a rebuild from zero, into a fresh database, of the same log.
      await eventually(async () => (await health(projectorB))?.projections.every((p) => p.lag === 0) === true, 20_000);
      const rebuilt = await freshDatabase();
      await migrateDatabase(rebuilt, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
      const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 4 });
      const target = await createReadModelDataSource({ url: rebuilt, poolSize: 8 }).initialize();
      const rebuild = new RunnerGroup(
        readModelProjections().map((p) => new ProjectionRunner(store, target, p, { recheckMs: 100 })),
      );
      rebuild.start();
      try {
        const head = await store.headCheckpoint();
        const reached = await Promise.all(rebuild.runners.map((r) => r.waitFor(head, 30_000)));
        expect(reached.every(Boolean)).toBe(true);
      } finally {
        await rebuild.stop();
        await target.destroy();
        await store.close();
      }
      const [live, fromZero] = await Promise.all([dumpReadModels(databaseUrl), dumpReadModels(rebuilt)]);
      expect(Object.keys(live).length).toBeGreaterThan(5);
      expect(live).toEqual(fromZero);

      for (const proc of [api2, projectorB, relay]) proc.child.kill('SIGTERM');
      for (const proc of [api2, projectorB, relay]) expect(await proc.exited, `${proc.name}:\n${proc.output}`).toBe(0);
      console.info(`[scale-out] whole scenario in ${Date.now() - began} ms`);
    }, 150_000);
  },
);
