/** Reads Kafka topics in tests; the broker itself comes from @herald/kafka-mock. */
import kafkajs from 'kafkajs';
import { randomUUID } from 'node:crypto';

export { kafkaMockUnavailable, MOCK_CLUSTER_NOTE, startKafkaMock, type KafkaMock } from '@herald/kafka-mock';

export interface RawRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<string, string>;
}

/** Reads every record of the topics from the beginning, as it arrives, into `records`. */
export async function collectRecords(
  brokers: string[],
  topics: string[],
): Promise<{ records: RawRecord[]; stop: () => Promise<void> }> {
  const kafka = new kafkajs.Kafka({ clientId: 'herald-test-collector', brokers, logLevel: kafkajs.logLevel.NOTHING });
  // Short fetch waits: records show up at once, and stop() does not wait out a long poll.
  const consumer = kafka.consumer({ groupId: `collector-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const records: RawRecord[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        const first = Array.isArray(value) ? value[0] : value;
        if (first !== undefined) headers[name] = first.toString();
      }
      records.push({
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        headers,
      });
      return Promise.resolve();
    },
  });
  return { records, stop: () => consumer.disconnect() };
}
