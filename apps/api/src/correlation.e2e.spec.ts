/**
 * The correlation id over HTTP: taken from traceparent or x-request-id, else made per
 * request; echoed as x-request-id, and on every log line the request writes (here the
 * security log's refusals, written once the body has been parsed).
 */
import type { EventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';
import { EVENT_STORE } from './tokens.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const lines: Record<string, unknown>[] = [];
let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp(
    {},
    undefined,
    new JsonLogger('info', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
  );
});
afterAll(async () => {
  await app.close();
});

const refusals = (correlationId: string) =>
  lines.filter(
    (line) => typeof line.msg === 'string' && line.msg.includes('refused') && line.correlationId === correlationId,
  );

describe('the correlation id', () => {
  it("is the traceparent's trace id: echoed as x-request-id and on the request's log lines", async () => {
    const { response } = await apiOf(app).POST('/auth/sign-in', {
      body: { username: 'nobody-here', password: 'wrong-password' },
      headers: { traceparent: TRACEPARENT },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toBe(TRACE_ID);
    expect(refusals(TRACE_ID)).toHaveLength(1);
  });

  it("is the client's x-request-id when it sends no traceparent", async () => {
    const { response } = await apiOf(app).GET('/me', { headers: { 'x-request-id': 'client-id-1' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toBe('client-id-1');
    expect(refusals('client-id-1')).toHaveLength(1);
  });

  it('is answered also when the router refuses the path before any route runs', async () => {
    // On app.inject on purpose: a malformed path, an over-long id and a route the document does not have.
    for (const url of ['/conversations/%E0%A4%A', `/conversations/${'a'.repeat(200)}`, '/nowhere']) {
      const response = await app.inject({ method: 'GET', url, headers: { 'x-request-id': 'client-id-2' } });
      expect(response.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(response.headers['x-request-id'], url).toBe('client-id-2');
    }
  });

  it('is made per request otherwise, a different one each time', async () => {
    const [a, b] = await Promise.all([
      apiOf(app).GET('/me'),
      // On app.inject on purpose: a malformed x-request-id.
      app.inject({ method: 'GET', url: '/me', headers: { 'x-request-id': 'no spaces allowed' } }),
    ]);
    const ids = [a.response.headers.get('x-request-id'), b.headers['x-request-id']];
    expect(ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id))).toBe(true);
    expect(ids[0]).not.toBe(ids[1]);
    expect(refusals(ids[1] as string)).toHaveLength(1);
  });

  it("is what the request's events record: correlationId the trace id, with the traceparent", async () => {
    const ada = await signUp(app, 'ada');
    const { response } = await apiOf(app, ada).POST('/conversations/groups', {
      body: { name: 'traced' },
      headers: { traceparent: TRACEPARENT },
    });
    expect(response.status).toBe(201);
    const { events } = await app.get<EventStore>(EVENT_STORE).readAll({ limit: 1000 });
    const traced = events.filter((event) => event.metadata.correlationId === TRACE_ID);
    expect(traced.map((event) => event.type)).toEqual(['GroupCreated']);
    expect(traced[0]!.metadata.traceparent).toBe(TRACEPARENT);
  });

  it('is what the identity commands record too: a sign-up under a traceparent', async () => {
    const traceId = 'a'.repeat(31) + '1';
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    const { response } = await apiOf(app).POST('/auth/register', {
      body: { username: `traced${Date.now()}`, password: 'correct horse battery', displayName: 'T' },
      headers: { traceparent },
    });
    expect(response.status).toBe(201);
    const { events } = await app.get<EventStore>(EVENT_STORE).readAll({ limit: 1000 });
    const traced = events.filter((event) => event.metadata.correlationId === traceId);
    expect(traced.map((event) => event.type)).toContain('UserRegistered');
    expect(traced.every((event) => event.metadata.traceparent === traceparent)).toBe(true);
  });
});
