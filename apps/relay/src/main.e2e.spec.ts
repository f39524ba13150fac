/**
 * The relay deployable (`dist/apps/relay/src/main.js`, built by `npm test`) in its own
 * process: killed with SIGKILL in the middle of a stream and started again, it leaves no
 * gap; at most the batch in flight is delivered twice.
 */
import { PostgresEventStore, type NewEvent } from '@herald/event-store';
import { streamIdOf, topicName, type WireEvent } from '@herald/events';
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
} from '@herald/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../../dist/apps/relay/src/main.js', import.meta.url));
const unavailable = kafkaMockUnavailable();
if (unavailable) console.warn(`[relay app] skipped: ${unavailable}`);

interface Run {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

function startRelay(env: Record<string, string>): Run {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KAFKA_') && k !== 'DATABASE_URL'),
  );
  const child = spawn(process.execPath, [MAIN], {
    env: { ...base, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { child, output: '', exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
  child.stdout.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (run.output += chunk.toString()));
  return run;
}

describe('relay app', () => {
  it('refuses to start without DATABASE_URL and KAFKA_BROKERS, naming them (exit 2)', async () => {
    const run = startRelay({});
    expect(await run.exited).toBe(2);
    expect(run.output).toContain('DATABASE_URL: required by the relay');
    expect(run.output).toContain('KAFKA_BROKERS: required by the relay');
  });
});

describe.skipIf(unavailable !== undefined)(`relay app against Kafka (${unavailable ?? MOCK_CLUSTER_NOTE})`, () => {
  let mock: KafkaMock;
  beforeAll(async () => {
    mock = await startKafkaMock();
  });
  afterAll(async () => {
    await mock.stop();
  });

  it('killed mid-stream (SIGKILL) and restarted, it leaves no gap and keeps stream order', async () => {
    const url = await freshDatabase();
    const store = new PostgresEventStore({ connectionString: url, poolSize: 8 });
    await store.migrate();
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const env = {
      DATABASE_URL: url,
      KAFKA_BROKERS: mock.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_CREATE_TOPICS: 'false',
      KAFKA_IDEMPOTENT: 'false',
      PORT: '0',
    };
    const { records, stop } = await collectRecords(mock.brokers, [topicName('conversation', prefix)]);
    const distinct = (): number => new Set(records.map((r) => r.headers.ce_id)).size;

    // Writers keep appending while the relay is killed and restarted.
    const written = new Map<string, NewEvent[]>();
    let writing = true;
    const writers = Promise.all(
      range(8).map(async () => {
        const conversationId = randomUUID();
        const streamId = streamIdOf('conversation', conversationId);
        const events: NewEvent[] = [];
        written.set(streamId, events);
        while (writing) {
          const batch = range(1 + (events.length % 3)).map(() =>
            catalogueEvents.messageSent(conversationId, randomUUID(), 'hi'),
          );
          await store.append(streamId, batch, events.length === 0 ? 'no_stream' : events.length - 1);
          events.push(...batch);
          await new Promise((r) => setTimeout(r, 5));
        }
      }),
    );

    let relay = startRelay(env);
    try {
      await eventually(() => distinct() >= 300, 30_000);
      relay.child.kill('SIGKILL');
      expect(await relay.exited).toBe(null);
      const atKill = distinct();
      await new Promise((r) => setTimeout(r, 500));
      relay = startRelay(env);
      await eventually(() => distinct() > atKill + 300, 30_000);
    } finally {
      writing = false;
      await writers;
    }
    const total = [...written.values()].reduce((n, e) => n + e.length, 0);
    await eventually(() => distinct() === total, 30_000);

    const seen = new Set<string>();
    const delivered = new Map<string, WireEvent[]>();
    for (const record of records) {
      const event = JSON.parse(record.value) as WireEvent;
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      delivered.set(event.streamId, [...(delivered.get(event.streamId) ?? []), event]);
    }
    for (const [streamId, events] of written) {
      expect(delivered.get(streamId)?.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    }
    console.info(`[relay app] ${total} events, ${records.length - total} re-delivered after the kill`);

    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    await stop();
    await store.close();
  });
});
