/**
 * The embedded default with KAFKA_BROKERS set: the API runs the relay in process, reports
 * it in /health, and what is appended reaches its topic.
 */
import { loadConfig } from '@herald/config';
import { PostgresEventStore } from '@herald/event-store';
import { streamIdOf, topicName } from '@herald/events';
import { JsonLogger } from '@herald/nest';
import { relayName } from '@herald/relay';
import {
  catalogueEvents,
  collectRecords,
  eventually,
  freshDatabase,
  kafkaMockUnavailable,
  MOCK_CLUSTER_NOTE,
  startKafkaMock,
  TEST_JWT_SECRET,
} from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApp } from './bootstrap.js';
import { apiOf } from './test-client.js';

const unavailable = kafkaMockUnavailable();
if (unavailable) console.warn(`[api relay] skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`API with KAFKA_BROKERS (${unavailable ?? MOCK_CLUSTER_NOTE})`, () => {
  it('runs the relay in process and reports it in /health', async () => {
    const mock = await startKafkaMock();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const databaseUrl = await freshDatabase();
    const config = loadConfig({
      KAFKA_BROKERS: mock.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_CREATE_TOPICS: 'false',
      KAFKA_IDEMPOTENT: 'false',
    });
    const app = await createApp({ config, databaseUrl, logger: new JsonLogger('fatal'), jwtSecret: TEST_JWT_SECRET });
    const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 2 });
    const { records, stop } = await collectRecords(mock.brokers, [topicName('user', prefix)]);
    try {
      const userId = randomUUID();
      const registered = catalogueEvents.userRegistered(userId, 'grace');
      await store.append(streamIdOf('user', userId), [registered], 'no_stream');
      await eventually(() => records.some((r) => r.headers.ce_id === registered.eventId));

      const health = async () => {
        // 200 while Herald can serve, 503 (the same report) when it cannot.
        const { data, error } = await apiOf(app).GET('/health');
        return data ?? (error !== undefined && 'projections' in error ? error : undefined);
      };
      const relay = async () => (await health())?.projections.find((p) => p.name === relayName(prefix));
      await eventually(async () => (await relay())?.lag === 0);
      expect(await relay()).toMatchObject({ state: 'running', lag: 0 });

      mock.pause();
      const later = catalogueEvents.userRegistered(userId, 'grace2');
      await store.append(streamIdOf('user', userId), [later], 0);
      await eventually(async () => (await health())?.status === 'degraded', 30_000);
      expect(await relay()).toMatchObject({ state: 'retrying', lag: 1 });
      mock.resume();
      await eventually(() => records.some((r) => r.headers.ce_id === later.eventId), 30_000);
      await eventually(async () => (await health())?.status === 'ok');
    } finally {
      mock.resume();
      await stop();
      await app.close();
      await store.close();
      await mock.stop();
    }
  });
});
