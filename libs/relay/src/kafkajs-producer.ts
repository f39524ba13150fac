/**
 * The integration stream on kafkajs. acks=all, one request in flight per broker connection
 * (so a retry cannot reorder a partition), the Java client's partitioner (murmur2 of the
 * key), idempotence when the broker supports it. Retries are short: the relay backs off
 * itself, and a send must end well within the read-model transaction's idle timeout.
 */
import type { KafkaConfig } from '@herald/config';
import { allTopics, type WireRecord } from '@herald/events';
import kafkajs from 'kafkajs';
import { IntegrationStreamUnavailable, RecordRejected, type IntegrationProducer } from './producer.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

/** Broker answers that concern the record itself, not the broker's state. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'RECORD_LIST_TOO_LARGE']);

export type KafkaLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export class KafkaJsProducer implements IntegrationProducer {
  private readonly kafka: InstanceType<typeof Kafka>;
  private producer: kafkajs.Producer | undefined;
  private topicsReady = false;

  constructor(
    private readonly config: KafkaConfig,
    private readonly log: KafkaLog = () => undefined,
  ) {
    this.kafka = new Kafka({
      clientId: config.clientId,
      brokers: [...config.brokers],
      ssl: config.ssl,
      ...(config.sasl ? { sasl: saslOptions(config.sasl) } : {}),
      connectionTimeout: 3_000,
      requestTimeout: 4_000,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      // kafkajs logs connection trouble; records and credentials are never in its messages.
      logCreator:
        () =>
        ({ level, log: entry }) =>
          this.log(level <= logLevel.ERROR ? 'error' : 'warn', `kafka: ${entry.message}`),
    });
  }

  async send(records: readonly WireRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, kafkajs.Message[]>();
    for (const r of records) {
      const messages = byTopic.get(r.topic) ?? [];
      messages.push({ key: r.key, value: r.value, headers: r.headers });
      byTopic.set(r.topic, messages);
    }
    try {
      const producer = await this.connected();
      await producer.sendBatch({
        acks: -1,
        timeout: 3_000,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    } catch (error) {
      if (isRecordError(error)) throw new RecordRejected(describe(error), { cause: error });
      // Start afresh next time: a producer that lost its brokers may hold stale metadata.
      await this.disconnect();
      throw new IntegrationStreamUnavailable(describe(error), { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.disconnect();
  }

  private async connected(): Promise<kafkajs.Producer> {
    if (!this.producer) {
      const producer = this.kafka.producer({
        idempotent: this.config.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: !this.config.createTopics,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1_000 },
      });
      this.producer = producer;
      await producer.connect();
    }
    if (this.config.createTopics && !this.topicsReady) {
      await this.createTopics();
      this.topicsReady = true;
    }
    return this.producer;
  }

  /** Creates the topics that are missing; existing ones keep their settings. */
  private async createTopics(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = allTopics(this.config.topicPrefix).filter((t) => !existing.has(t));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: this.config.topicPartitions,
          replicationFactor: this.config.replicationFactor,
        })),
      });
      this.log('info', `kafka: created topics ${missing.join(', ')}`);
    } finally {
      await admin.disconnect();
    }
  }

  private async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.topicsReady = false;
    await producer?.disconnect().catch(() => undefined);
  }
}

function saslOptions(sasl: NonNullable<KafkaConfig['sasl']>): kafkajs.SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

function isRecordError(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if ('type' in e && typeof e.type === 'string' && RECORD_ERRORS.has(e.type)) return true;
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
