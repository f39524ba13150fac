/**
 * `npm run bench:relay`: the Kafka relay from the event store (embedded PostgreSQL unless
 * DATABASE_URL is set) to librdkafka's mock cluster (started with kcat), all on this machine.
 *
 * Per run:
 * - baseline: kafkajs alone producing the same records to the same broker (what the
 *   relay could reach at best), so figures compare on a noisy machine;
 * - throughput: a backlog of BENCH_BACKLOG events in 1,000 conversations, relayed from the
 *   relay's start: events per second until its checkpoint reaches the head;
 * - lag: appends paced at BENCH_RATE events/s for BENCH_SECONDS while the relay runs; a
 *   consumer (kafkajs, in this process, joined before the pacing starts, reading from the
 *   end of the topic) records when each event arrives: lag = arrival - just before its
 *   append, so it includes the append itself. BENCH_TRACE=1 prints the worst lag per second.
 * The relay runs as the relay app does (ProjectionRunner + KafkaJsProducer, batches of 1,000,
 * acks=all, one request in flight); idempotence and topic creation are off, as the mock needs.
 * The last line is one JSON object with the median headline figures.
 *
 * Everything shares the machine: PostgreSQL, the mock cluster, and this process (appenders,
 * relay, consumer). The mock keeps only the newest few thousand records per partition, so
 * the benchmark checks arrivals of the paced events only; the tests check completeness.
 *
 * Environment: BENCH_RUNS (3), BENCH_BACKLOG (100000), BENCH_RATE (5000), BENCH_SECONDS (20),
 * BENCH_TRACE, DATABASE_URL.
 */
import { configFromProcess, type KafkaConfig } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, type NewEvent } from '@herald/event-store';
import { streamIdOf, toWireRecord, topicName, type WireRecord } from '@herald/events';
import { kafkaMockUnavailable, startKafkaMock } from '@herald/kafka-mock';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, ProjectionRunner } from '@herald/projection-runtime';
import { kafkaRelay, KafkaJsProducer } from '@herald/relay';
import kafkajs from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { benchDatabase, machine, percentile, report, round } from './report.js';
import type { DataSource } from 'typeorm';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 5_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONVERSATIONS = 1_000;

type RunFigures = {
  relayEventsPerSec: number;
  baselineProducerEventsPerSec: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  pacedEventsPerSec: number;
};

function message(conversationId: string, i: number): NewEvent {
  const senderId = randomUUID();
  return {
    eventId: randomUUID(),
    type: 'MessageSent',
    schemaVersion: 1,
    data: {
      conversationId,
      messageId: randomUUID(),
      senderId,
      text: `Message ${i}: the quick brown fox jumps over the lazy dog, twice over for a realistic size.`,
      mentions: { userIds: [], all: false },
      attachments: [],
    },
    metadata: {
      actorId: senderId,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date().toISOString(),
    },
  };
}

class Conversations {
  private readonly ids = Array.from({ length: CONVERSATIONS }, () => randomUUID());
  private readonly revisions = new Map<string, number>();
  private next = 0;

  constructor(private readonly store: PostgresEventStore) {}

  /** Appends `count` events (at most 10 per append) to the next conversation in turn. */
  async append(count: number): Promise<NewEvent[]> {
    const id = this.ids[this.next++ % CONVERSATIONS]!;
    const streamId = streamIdOf('conversation', id);
    const events = Array.from({ length: count }, (_, i) => message(id, i));
    // One writer per conversation at a time: the revision map is updated before the next use.
    const expected = this.revisions.get(streamId) ?? 'no_stream';
    this.revisions.set(streamId, (this.revisions.get(streamId) ?? -1) + count);
    await this.store.append(streamId, events, expected);
    return events;
  }
}

async function baseline(config: KafkaConfig): Promise<number> {
  const producer = new KafkaJsProducer(config);
  const records: WireRecord[] = [];
  for (let i = 0; i < 1_000; i++) {
    const e = message(randomUUID(), i);
    records.push(
      toWireRecord(
        {
          ...e,
          streamId: streamIdOf('conversation', randomUUID()),
          streamRevision: 0,
          globalPosition: '0-0',
          recordedAt: new Date(),
        },
        config.topicPrefix,
      ),
    );
  }
  await producer.send(records.slice(0, 10)); // connect and learn the metadata first
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < 5_000) {
    await producer.send(records);
    sent += records.length;
  }
  await producer.close();
  return sent / ((performance.now() - started) / 1000);
}

async function consume(brokers: string[], topic: string, arrived: Map<string, number>): Promise<() => Promise<void>> {
  const kafka = new kafkajs.Kafka({ clientId: 'bench-consumer', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  // Lag counts only once the consumer has its partitions (joining the group takes seconds).
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) {
        const id = m.headers?.ce_id?.toString();
        if (id && !arrived.has(id)) arrived.set(id, now);
      }
      return Promise.resolve();
    },
  });
  await joined;
  // Its partitions' end offsets are looked up on the first fetch after joining.
  await new Promise((r) => setTimeout(r, 1_000));
  return () => consumer.disconnect();
}

async function oneRun(url: string, brokers: string[], run: number): Promise<RunFigures> {
  const prefix = `bench${run}x${randomUUID().slice(0, 6)}`;
  const config: KafkaConfig = {
    brokers,
    clientId: 'herald-bench',
    topicPrefix: prefix,
    topicPartitions: 4,
    replicationFactor: 1,
    createTopics: false,
    idempotent: false,
    ssl: false,
  };
  // Its own topics, so the relay's consumer reads only the relay's records.
  const baselinePerSec = await baseline({ ...config, topicPrefix: `${prefix}-baseline` });

  // A database of its own per run, so the relay starts at the backlog.
  const runUrl = await createDatabase(url, `bench_relay_${prefix}`);
  const store = new PostgresEventStore({ connectionString: runUrl, poolSize: 12 });
  await store.migrate();
  await migrateDatabase(runUrl, PROJECTION_RUNTIME_MIGRATIONS);
  const dataSource: DataSource = await createReadModelDataSource({ url: runUrl, poolSize: 4 }).initialize();
  const conversations = new Conversations(store);

  // Throughput: relay a backlog.
  for (let done = 0; done < BACKLOG;) {
    const batch = Array.from({ length: Math.min(100, (BACKLOG - done) / 10) }, () => conversations.append(10));
    done += (await Promise.all(batch)).length * 10;
  }
  const head = await store.headCheckpoint();
  const producer = new KafkaJsProducer(config);
  const runner = new ProjectionRunner(store, dataSource, kafkaRelay(producer, prefix));
  const started = performance.now();
  runner.start();
  if (!(await runner.waitFor(head, 300_000))) throw new Error('relay did not catch up with the backlog');
  const relayPerSec = BACKLOG / ((performance.now() - started) / 1000);

  // Lag: paced appends while the relay runs; a consumer, reading from the end of the topic,
  // timestamps arrivals. (An event that never arrives counts as infinite lag.)
  const arrived = new Map<string, number>();
  const stopConsumer = await consume(brokers, topicName('conversation', prefix), arrived);
  const sentAt = new Map<string, number>();
  const perTick = RATE / 100; // 10 ms ticks, events in appends of 5
  const pacedStart = performance.now();
  let appended = 0;
  const pending: Promise<void>[] = [];
  for (let tick = 0; performance.now() - pacedStart < SECONDS * 1000; tick++) {
    const due = pacedStart + tick * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let i = 0; i < perTick / 5; i++) {
      const t0 = performance.now();
      pending.push(
        conversations.append(5).then((events) => {
          for (const e of events) sentAt.set(e.eventId, t0);
        }),
      );
      appended += 5;
    }
  }
  await Promise.all(pending);
  const pacedPerSec = appended / ((performance.now() - pacedStart) / 1000);
  const deadline = performance.now() + 60_000;
  while ([...sentAt.keys()].some((id) => !arrived.has(id)) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const lags = [...sentAt].map(([id, t0]) => (arrived.get(id) ?? Infinity) - t0).sort((a, b) => a - b);
  if (process.env.BENCH_TRACE) {
    // The worst lag in each second of the paced phase, to tell steady lag from stalls.
    const worst = new Map<number, number>();
    for (const [id, t0] of sentAt) {
      const second = Math.floor((t0 - pacedStart) / 1000);
      worst.set(second, Math.max(worst.get(second) ?? 0, (arrived.get(id) ?? Infinity) - t0));
    }
    console.log(
      [...worst]
        .sort(([a], [b]) => a - b)
        .map(([sec, ms]) => `${sec}s:${Math.round(ms)}`)
        .join(' '),
    );
  }
  await stopConsumer();
  await runner.stop();
  await producer.close();
  await dataSource.destroy();
  await store.close();
  return {
    relayEventsPerSec: round(relayPerSec),
    baselineProducerEventsPerSec: round(baselinePerSec),
    lagP50Ms: round(percentile(lags, 50), 1),
    lagP99Ms: round(percentile(lags, 99), 1),
    lagMaxMs: round(lags[lags.length - 1]!, 1),
    pacedEventsPerSec: round(pacedPerSec),
  };
}

async function createDatabase(url: string, name: string): Promise<string> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main(): Promise<void> {
  const missing = kafkaMockUnavailable();
  if (missing) throw new Error(`bench:relay needs the mock Kafka cluster: ${missing}`);
  const config = configFromProcess();
  const database = await benchDatabase(config.databaseUrl);
  const url = database.url;
  const mock = await startKafkaMock();
  console.log(machine());
  console.log(
    `database: ${database.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'}; broker: librdkafka mock cluster (3 brokers, kcat); backlog ${BACKLOG}, paced ${RATE}/s for ${SECONDS}s, ${RUNS} runs\n`,
  );
  const runs: RunFigures[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) runs.push(await oneRun(url, mock.brokers, run));
  } finally {
    await mock.stop();
    await database.stop();
  }
  const medians = report(runs);
  console.log(JSON.stringify(medians));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
