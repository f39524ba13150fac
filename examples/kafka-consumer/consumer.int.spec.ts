import type { KafkaConfig } from '@herald/config';
import { streamIdOf, toWireRecord, topicName, type RecordedEventShape, type WireRecord } from '@herald/events';
import { KafkaJsProducer } from '@herald/relay';
import {
  catalogueEvents,
  eventually,
  kafkaMockUnavailable,
  MOCK_CLUSTER_NOTE,
  range,
  startKafkaMock,
  type KafkaMock,
} from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldConsumer, type HeraldEvent } from './consumer.js';

const SCHEMAS = fileURLToPath(new URL('../../events/schemas', import.meta.url));
const unavailable = kafkaMockUnavailable();
if (unavailable) console.warn(`[example consumer] skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(`example consumer (${unavailable ?? MOCK_CLUSTER_NOTE})`, () => {
  let mock: KafkaMock;
  let producer: KafkaJsProducer;
  const prefix = `t${randomUUID().slice(0, 8)}`;
  const topic = topicName('conversation', prefix);

  beforeAll(async () => {
    mock = await startKafkaMock();
    const config: KafkaConfig = {
      brokers: mock.brokers,
      clientId: 'example-test',
      topicPrefix: prefix,
      topicPartitions: 4,
      replicationFactor: 1,
      createTopics: false,
      idempotent: false,
      ssl: false,
    };
    producer = new KafkaJsProducer(config);
  });
  afterAll(async () => {
    await producer.close();
    await mock.stop();
  });

  /** `count` records of a conversation from revision `from`, as the relay would produce them. */
  function records(conversationId: string, from: number, count: number): WireRecord[] {
    return range(count).map((i) => {
      const event = catalogueEvents.messageSent(conversationId, randomUUID(), `hello ${from + i}`);
      const recorded: RecordedEventShape = {
        ...event,
        streamId: streamIdOf('conversation', conversationId),
        streamRevision: from + i,
        globalPosition: `${String(from + i).padStart(16, '0')}-0000000000000000`,
        recordedAt: new Date(),
      };
      return toWireRecord(recorded, prefix);
    });
  }

  function consumer(groupId: string, stateFile: string, handled: HeraldEvent[], invalid: string[]): HeraldConsumer {
    return new HeraldConsumer({
      brokers: mock.brokers,
      groupId,
      topics: [topic],
      schemasDir: SCHEMAS,
      stateFile,
      handle: (event) => {
        handled.push(event);
        return Promise.resolve();
      },
      onInvalid: (problem) => {
        invalid.push(problem);
        return Promise.resolve();
      },
    });
  }

  it('validates, hands on each event once in stream order, and resumes from its own offsets', async () => {
    const stateFile = join(await mkdtemp(join(tmpdir(), 'herald-consumer-')), 'state.json');
    const [a, b] = [randomUUID(), randomUUID()];
    const first = [...records(a, 0, 30), ...records(b, 0, 30)];
    await producer.send(first);
    await producer.send(first.slice(10, 40)); // a re-delivery, as after a relay crash
    const broken = { ...records(a, 30, 1)[0]!, value: JSON.stringify({ eventId: 'nope' }) };
    await producer.send([broken]);

    const handled: HeraldEvent[] = [];
    const invalid: string[] = [];
    const one = consumer(`example-${randomUUID()}`, stateFile, handled, invalid);
    await one.start();
    await eventually(() => handled.length === 60 && invalid.length === 1, 30_000);
    await one.stop();
    for (const id of [a, b]) {
      const revisions = handled
        .filter((e) => e.streamId === streamIdOf('conversation', id))
        .map((e) => e.streamRevision);
      expect(revisions).toEqual(range(30));
    }
    expect(invalid[0]).toMatch(/eventId|required/);

    // Another group id: the consumer's own state, not the group's offsets, decides where it goes on.
    const more = records(a, 30, 5);
    await producer.send(more);
    const again: HeraldEvent[] = [];
    const two = consumer(`example-${randomUUID()}`, stateFile, again, []);
    await two.start();
    await eventually(() => again.length === 5, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    await two.stop();
    expect(again.map((e) => e.streamRevision)).toEqual([30, 31, 32, 33, 34]);
    expect(again.map((e) => e.eventId)).toEqual(more.map((r) => r.headers.ce_id));
  });
});
