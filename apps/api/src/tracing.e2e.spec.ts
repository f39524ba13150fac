/**
 * Tracing on (here with an in-memory exporter instead of OTLP): a request's SERVER span
 * continues the caller's `traceparent`, the events it causes record the span's context,
 * the append is a child span, and the relay's PRODUCER span per record continues it into
 * the record's `traceparent` header, `ce_traceparent` keeping the event's own.
 */
import { streamIdOf, type WireRecord } from '@herald/events';
import type { EventStore } from '@herald/event-store';
import { startTracing } from '@herald/observability';
import { kafkaRelay } from '@herald/relay';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';
import { EVENT_STORE } from './tokens.js';

const exporter = new InMemorySpanExporter();
const tracing = startTracing(undefined, { serviceName: 'herald-api', exporter });
let app: NestFastifyApplication;

beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
  await tracing.shutdown();
});

describe('tracing', () => {
  it('carries the caller’s trace from the request into the events and the Kafka records', async () => {
    const alice = await signUp(app, 'alice');
    const created = await apiOf(app, alice).POST('/conversations/groups', { body: { name: 'traced', memberIds: [] } });
    const conversationId = created.data!.conversationId;
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const sent = await app.inject({
      method: 'POST',
      url: `/conversations/${conversationId}/messages`,
      headers: {
        authorization: `Bearer ${alice.token}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      payload: { text: 'traced', clientMessageId: randomUUID() },
    });
    expect(sent.statusCode).toBe(201);
    // The correlation id stays the caller's trace id.
    expect(sent.headers['x-request-id']).toBe(traceId);

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const server = spans.find((s) => s.name === 'POST /conversations/:id/messages')!;
    expect(server).toBeDefined();
    expect(server.parentSpanContext?.spanId).toBe(callerSpan);
    expect(server.attributes['http.route']).toBe('/conversations/:id/messages');
    expect(server.attributes['http.response.status_code']).toBe(201);
    const append = spans.find((s) => s.name === 'eventstore.append')!;
    expect(append.parentSpanContext?.spanId).toBe(server.spanContext().spanId);

    const store = app.get<EventStore>(EVENT_STORE);
    const events = await store.readStream(streamIdOf('conversation', conversationId));
    const message = events.find((e) => e.type === 'MessageSent')!;
    expect(message.metadata.traceparent).toBe(`00-${traceId}-${server.spanContext().spanId}-01`);

    const produced: WireRecord[] = [];
    const relay = kafkaRelay(
      { send: (records) => (produced.push(...records), Promise.resolve()), close: () => Promise.resolve() },
      'traced',
    );
    await relay.apply([message], {} as EntityManager);
    const record = produced[0]!;
    expect(record.headers.ce_traceparent).toBe(message.metadata.traceparent);
    const publish = exporter.getFinishedSpans().find((s) => s.name === `${record.topic} publish`)!;
    expect(publish.spanContext().traceId).toBe(traceId);
    expect(publish.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(record.headers.traceparent).toBe(`00-${traceId}-${publish.spanContext().spanId}-01`);
  });

  it('a request without a traceparent starts a trace of its own, recorded in its events', async () => {
    const bob = await signUp(app, 'bob');
    const created = await apiOf(app, bob).POST('/conversations/groups', { body: { name: 'untraced', memberIds: [] } });
    const store = app.get<EventStore>(EVENT_STORE);
    const [event] = await store.readStream(streamIdOf('conversation', created.data!.conversationId));
    expect(event!.metadata.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});
