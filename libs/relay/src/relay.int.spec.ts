import type { KafkaConfig } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, START, type NewEvent } from '@herald/event-store';
import {
  asyncApiDocument,
  eventJsonSchema,
  EVENTS,
  MessageSent,
  streamIdOf,
  topicName,
  type WireEvent,
} from '@herald/events';
import {
  createReadModelDataSource,
  PROJECTION_RUNTIME_MIGRATIONS,
  ProjectionRunner,
  resolveParkedEvent,
} from '@herald/projection-runtime';
import {
  catalogueEvents,
  collectRecords,
  eventually,
  freshDatabase,
  kafkaMockUnavailable,
  MOCK_CLUSTER_NOTE,
  range,
  startKafkaMock,
  type KafkaMock,
  type RawRecord,
} from '@herald/testing';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaJsProducer } from './kafkajs-producer.js';
import { kafkaRelay } from './relay.js';

const unavailable = kafkaMockUnavailable();
if (unavailable) console.warn(`[kafka relay] skipped: ${unavailable}`);
else console.info(`[kafka relay] ${MOCK_CLUSTER_NOTE}`);

describe.skipIf(unavailable !== undefined)(`Kafka relay (${unavailable ?? MOCK_CLUSTER_NOTE})`, () => {
  let mock: KafkaMock;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    mock = await startKafkaMock();
  });
  afterEach(async () => {
    mock.resume();
    for (const close of cleanup.splice(0).reverse()) await close();
  });
  afterAll(async () => {
    await mock.stop();
  });

  /** A relay (and its own empty database) with a fresh topic prefix. */
  async function setUp(overrides: Partial<KafkaConfig> = {}): Promise<{
    store: PostgresEventStore;
    dataSource: DataSource;
    prefix: string;
    startRelay: () => ProjectionRunner;
  }> {
    const url = await freshDatabase();
    const store = new PostgresEventStore({ connectionString: url, poolSize: 4 });
    await store.migrate();
    await migrateDatabase(url, PROJECTION_RUNTIME_MIGRATIONS);
    const dataSource = await createReadModelDataSource({ url, poolSize: 6 }).initialize();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    cleanup.push(
      () => store.close(),
      () => dataSource.destroy(),
    );
    const startRelay = (): ProjectionRunner => {
      const producer = new KafkaJsProducer({ ...kafkaConfig(mock.brokers, prefix), ...overrides });
      const runner = new ProjectionRunner(store, dataSource, kafkaRelay(producer, prefix), {
        batchSize: 200,
        initialBackoffMs: 50,
        maxBackoffMs: 500,
        recheckMs: 200,
      });
      runner.start();
      cleanup.push(async () => {
        await runner.stop();
        await producer.close();
      });
      return runner;
    };
    return { store, dataSource, prefix, startRelay };
  }

  async function collect(prefix: string): Promise<RawRecord[]> {
    const topics = [topicName('user', prefix), topicName('conversation', prefix)];
    const { records, stop } = await collectRecords(mock.brokers, topics);
    cleanup.push(stop);
    return records;
  }

  /** Appends `perStream` events to each of `streams` conversations, from concurrent writers. */
  async function appendConversations(
    store: PostgresEventStore,
    streams: number,
    perStream: number,
  ): Promise<Map<string, NewEvent[]>> {
    const written = new Map<string, NewEvent[]>();
    await Promise.all(
      range(streams).map(async () => {
        const conversationId = randomUUID();
        const streamId = streamIdOf('conversation', conversationId);
        const events: NewEvent[] = [];
        written.set(streamId, events);
        for (let i = 0; i < perStream;) {
          const batch = range(Math.min(1 + (i % 4), perStream - i)).map(() =>
            catalogueEvents.messageSent(conversationId, randomUUID(), `message ${i} in ${conversationId} ✓`),
          );
          await store.append(streamId, batch, i === 0 ? 'no_stream' : i - 1);
          events.push(...batch);
          i += batch.length;
        }
      }),
    );
    return written;
  }

  /** The first delivery of each event id, per stream, in delivery order. */
  function firstDeliveries(records: readonly RawRecord[]): Map<string, WireEvent[]> {
    const seen = new Set<string>();
    const byStream = new Map<string, WireEvent[]>();
    for (const record of records) {
      const event = JSON.parse(record.value) as WireEvent;
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    return byStream;
  }

  function expectAllInOrder(records: readonly RawRecord[], written: Map<string, NewEvent[]>): void {
    const delivered = firstDeliveries(records);
    for (const [streamId, events] of written) {
      const got = delivered.get(streamId) ?? [];
      expect(
        got.map((e) => e.eventId),
        streamId,
      ).toEqual(events.map((e) => e.eventId));
      expect(got.map((e) => e.streamRevision)).toEqual(range(events.length));
    }
  }

  const total = (written: Map<string, NewEvent[]>): number => [...written.values()].reduce((n, e) => n + e.length, 0);
  const distinct = (records: readonly RawRecord[]): number => new Set(records.map((r) => r.headers.ce_id)).size;

  it('relays every event once per id, in stream order, keyed by stream, with CloudEvents headers, valid against the published schemas', async () => {
    const { store, prefix, startRelay } = await setUp();
    const userId = randomUUID();
    // The password hash is an internal event in the same stream: never relayed.
    await store.append(
      streamIdOf('user', userId),
      [catalogueEvents.userRegistered(userId, 'ada'), catalogueEvents.passwordSet(userId)],
      'no_stream',
    );
    // Not in the catalogue's categories: not part of the contract, not relayed.
    await store.append(`scratch-${randomUUID()}`, [catalogueEvents.userRegistered(userId, 'x')], 'no_stream');
    const records = await collect(prefix);
    const runner = startRelay();
    const written = await appendConversations(store, 20, 60);
    const head = await store.headCheckpoint();

    await eventually(() => distinct(records) === total(written) + 1, 30_000);
    expect(await runner.waitFor(head, 5_000)).toBe(true);
    expectAllInOrder(records, written);
    expect(records.some((r) => r.headers.ce_type?.startsWith('herald.PasswordSet'))).toBe(false);

    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const validators = new Map(EVENTS.map((d) => [`herald.${d.type}.v${d.version}`, ajv.compile(eventJsonSchema(d))]));
    const document = asyncApiDocument() as {
      components: { messages: Record<string, { headers: object }> };
    };
    const stored = new Map([...written.values()].flat().map((e) => [e.eventId, e]));
    for (const record of records) {
      const value = JSON.parse(record.value) as WireEvent;
      const validate = validators.get(record.headers.ce_type ?? '');
      expect(validate?.(value), JSON.stringify(validate?.errors)).toBe(true);
      expect(ajv.validate(document.components.messages[value.type]!.headers, record.headers)).toBe(true);
      expect(record.key).toBe(value.streamId);
      expect(record.headers).toMatchObject({
        ce_specversion: '1.0',
        ce_id: value.eventId,
        ce_type: `herald.${value.type}.v1`,
        ce_subject: value.streamId,
        ce_streamrevision: String(value.streamRevision),
        ce_checkpoint: value.checkpoint,
        'content-type': 'application/json',
      });
      if (value.type === 'UserRegistered') {
        expect(record.topic).toBe(`${prefix}.identity.v1`);
        expect(record.headers.ce_source).toBe(`/${prefix}/user`);
        continue;
      }
      expect(record.topic).toBe(`${prefix}.conversations.v1`);
      // Personal fields leave exactly as the store holds them; metadata travels whole.
      const original = stored.get(value.eventId)!;
      expect(value.data).toEqual(original.data);
      expect(value.metadata).toEqual(original.metadata);
      expect(record.headers).toMatchObject({
        ce_source: `/${prefix}/conversation`,
        ce_time: original.metadata.occurredAt,
        ce_correlationid: original.metadata.correlationId,
        ce_causationid: original.metadata.causationId,
      });
    }
    console.info(`[kafka relay] ${records.length} records for ${distinct(records)} events`);
  });

  it('while the broker is unreachable it backs off, keeps its position and reports it; then it drains the backlog', async () => {
    const { store, dataSource, prefix, startRelay } = await setUp();
    const records = await collect(prefix);
    const runner = startRelay();
    const before = await appendConversations(store, 2, 10);
    await eventually(() => distinct(records) === total(before));
    await eventually(async () => (await runner.lag()) === 0);
    const position = await storedCheckpoint(dataSource, runner);

    mock.pause();
    const during = await appendConversations(store, 5, 40);
    await eventually(() => runner.status().state === 'retrying', 30_000);
    expect(await storedCheckpoint(dataSource, runner)).toBe(position);
    expect(await runner.lag()).toBe(total(during));
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await storedCheckpoint(dataSource, runner)).toBe(position);
    expect(await runner.lag()).toBe(total(during));

    mock.resume();
    await eventually(() => distinct(records) === total(before) + total(during), 60_000);
    await eventually(async () => (await runner.lag()) === 0);
    expect(runner.status().state).toBe('running');
    expectAllInOrder(records, new Map([...before, ...during]));
  });

  it('one relay is active at a time; a standby takes over where the active one stopped, with no gap', async () => {
    const { store, prefix, startRelay } = await setUp();
    const records = await collect(prefix);
    const first = startRelay();
    await eventually(() => first.status().state === 'running');
    const second = startRelay();
    await eventually(() => second.status().state === 'standby');
    const before = await appendConversations(store, 3, 20);
    await eventually(() => distinct(records) === total(before));
    expect(second.status().state).toBe('standby');

    await first.stop();
    const after = await appendConversations(store, 3, 20);
    await eventually(() => second.status().state === 'running');
    await eventually(() => distinct(records) === total(before) + total(after));
    expectAllInOrder(records, new Map([...before, ...after]));
  });

  it('a broker that refuses to create topics keeps the relay retrying at its position, parking nothing', async () => {
    // The mock cluster cannot create topics through the admin API (it names no controller).
    const { store, dataSource, startRelay } = await setUp({ createTopics: true });
    await appendConversations(store, 1, 3);
    const runner = startRelay();
    await eventually(() => runner.status().state === 'retrying' && runner.status().lastError !== undefined);
    expect(runner.status().lastError).toContain('IntegrationStreamUnavailable');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(runner.status().state).toBe('retrying');
    expect(runner.status().parked).toBeUndefined();
    expect(await storedCheckpoint(dataSource, runner)).toBe(START);
    expect(await runner.lag()).toBe(3);
  });

  it('stops at an event the catalogue cannot read, publishing everything before it, until an operator decides', async () => {
    const { store, dataSource, prefix, startRelay } = await setUp();
    const records = await collect(prefix);
    const runner = startRelay();
    const before = await appendConversations(store, 1, 5);
    const [streamId] = [...before.keys()];
    const bad = {
      ...catalogueEvents.messageSent(randomUUID(), randomUUID(), 'x'),
      type: MessageSent.type,
      schemaVersion: 9,
    };
    await store.append(streamId!, [bad], 4);
    await eventually(() => runner.status().state === 'stopped');
    expect(runner.status().parked).toMatchObject({ eventId: bad.eventId, eventType: 'MessageSent' });
    await eventually(() => distinct(records) === 5);

    const after = catalogueEvents.messageSent(randomUUID(), randomUUID(), 'after');
    await store.append(streamId!, [after], 5);
    expect(await resolveParkedEvent(dataSource, runner.projection.name, 'skip')).toBe(true);
    await eventually(() => records.some((r) => r.headers.ce_id === after.eventId));
    expect(records.some((r) => r.headers.ce_id === bad.eventId)).toBe(false);
  });
});

/** The relay's checkpoint as stored: it moves only when the broker acknowledged a batch. */
async function storedCheckpoint(dataSource: DataSource, runner: ProjectionRunner): Promise<string> {
  const rows = await dataSource.query<{ checkpoint: string }[]>(
    'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
    [runner.projection.name],
  );
  return rows[0]?.checkpoint ?? START;
}

function kafkaConfig(brokers: string[], topicPrefix: string): KafkaConfig {
  return {
    brokers,
    clientId: 'herald-test',
    topicPrefix,
    topicPartitions: 4,
    replicationFactor: 1,
    createTopics: false,
    idempotent: false,
    ssl: false,
  };
}
