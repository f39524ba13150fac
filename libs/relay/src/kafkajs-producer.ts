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

/**
 * One produce request carries at most about this much. Kafka's `max.message.bytes` (1 MB
 * by default) limits a partition's whole record batch, not one record, and kafkajs puts all
 * of a partition's records of one request in one batch: a page of one busy conversation
 * would be refused. Chunks go one after the other, so order is kept.
 */
export const MAX_REQUEST_BYTES = 900_000;

/** Broker answers that concern the record itself, not the broker's state. */
const RECORD_ERRORS = new Set(['MESSAGE_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'RECORD_LIST_TOO_LARGE']);

export type KafkaLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export class KafkaJsProducer implements IntegrationProducer {
  private readonly kafka: InstanceType<typeof Kafka>;
  private producer: kafkajs.Producer | undefined;
  /** Set while connected (or connecting); cleared after a failure so the next send reconnects. */
  private connection: Promise<void> | undefined;
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
    try {
      for (const chunk of chunks(records)) {
        const producer = await this.connected();
        await producer.sendBatch({ acks: -1, timeout: 3_000, topicMessages: byTopic(chunk) });
      }
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
    if (!this.connection) {
      // One producer object for the process (kafkajs warns each time an idempotent one is made).
      this.producer ??= this.kafka.producer({
        idempotent: this.config.idempotent,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: !this.config.createTopics,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1_000 },
      });
      this.connection = this.producer.connect();
    }
    await this.connection;
    if (this.config.createTopics && !this.topicsReady) {
      await this.createTopics();
      this.topicsReady = true;
    }
    return this.producer!;
  }

  /** Creates the topics that are missing; existing ones keep their settings. */
  private async createTopics(): Promise<void> {
    const admin = this.kafka.admin();
    try {
      await admin.connect();
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
    this.connection = undefined;
    this.topicsReady = false;
    await this.producer?.disconnect().catch(() => undefined);
  }
}

/** Splits records, in order, into requests of at most MAX_REQUEST_BYTES (a bigger record goes alone). */
export function* chunks(records: readonly WireRecord[]): Generator<readonly WireRecord[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    let size = Buffer.byteLength(r.key) + Buffer.byteLength(r.value) + 64;
    for (const [name, value] of Object.entries(r.headers)) size += name.length + Buffer.byteLength(value) + 8;
    if (i > start && bytes + size > MAX_REQUEST_BYTES) {
      yield records.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < records.length) yield records.slice(start);
}

function byTopic(records: readonly WireRecord[]): kafkajs.TopicMessages[] {
  const topics = new Map<string, kafkajs.Message[]>();
  for (const r of records) {
    const messages = topics.get(r.topic) ?? [];
    messages.push({ key: r.key, value: r.value, headers: r.headers });
    topics.set(r.topic, messages);
  }
  return [...topics].map(([topic, messages]) => ({ topic, messages }));
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
