/**
 * The final state the checker compares the history with, read once the nemesis has
 * stopped and Herald is back: the log (every conversation's stream, every user's receipts),
 * the read models through the public API (timelines, inboxes, with the run's last
 * checkpoint so that they have caught up), and the Kafka topic from its beginning.
 */
import { PostgresEventStore, StreamNotFound, type RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import kafkajs from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FinalState, InboxRow, KafkaRecord, LogEvent, TimelineMessage } from './checker.js';
import type { History } from './history.js';
import { retry, newOp, type Endpoint, type World, type ChatClient } from './workload.js';

const toLog = (e: RecordedEvent): LogEvent => ({
  seq: Number(e.streamRevision),
  eventId: e.eventId,
  type: e.type,
  data: e.data as Record<string, unknown>,
});

async function readStream(store: PostgresEventStore, streamId: string): Promise<LogEvent[]> {
  const events: LogEvent[] = [];
  for (;;) {
    let batch: RecordedEvent[];
    try {
      batch = await store.readStream(streamId, { from: events.length, limit: 1_000 });
    } catch (error) {
      // A user who never read anything has no receipts stream.
      if (error instanceof StreamNotFound) return events;
      throw error;
    }
    events.push(...batch.map(toLog));
    if (batch.length < 1_000) return events;
  }
}

/** The newest checkpoint any answer of the run carried. */
export function lastCheckpoint(history: History): string | undefined {
  let last: string | undefined;
  for (const e of history.entries) {
    if (e.kind === 'request' && e.checkpoint && (last === undefined || e.checkpoint > last)) last = e.checkpoint;
  }
  return last;
}

async function get(endpoint: Endpoint, client: ChatClient, path: string): Promise<Record<string, unknown>> {
  const answer = await retry(
    endpoint,
    'GET',
    path,
    { client: client.name, op: newOp(), opKind: 'setup', token: client.token },
    120_000,
  );
  if (answer.status !== 200 || !answer.body) throw new Error(`final read ${path}: ${answer.status}`);
  return answer.body;
}

export async function readFinalState(
  endpoint: Endpoint,
  world: World,
  databaseUrl: string,
  kafka: KafkaCollector | undefined,
): Promise<FinalState> {
  const everyone = [...world.clients, world.probe.client];
  const after = encodeURIComponent(lastCheckpoint(endpoint.history) ?? '');
  const users = Object.fromEntries(everyone.map((c) => [c.name, c.userId]));
  const members = Object.fromEntries(world.conversations.map((c) => [c.id, c.members]));

  const timelines: Record<string, TimelineMessage[]> = {};
  for (const conversation of world.conversations) {
    const reader = everyone.find((c) => c.userId === conversation.members[0])!;
    const messages: TimelineMessage[] = [];
    let since = -1;
    for (;;) {
      const page = await get(
        endpoint,
        reader,
        `/conversations/${conversation.id}/messages?since=${since}&limit=100&after=${after}`,
      );
      const rows = page.messages as { seq: number; messageId: string; deleted: boolean }[];
      messages.push(...rows.map((m) => ({ seq: m.seq, messageId: m.messageId, deleted: m.deleted })));
      if (page.nextCursor === null || rows.length === 0) break;
      since = Number(page.nextCursor);
    }
    timelines[conversation.id] = messages.sort((a, b) => a.seq - b.seq);
  }

  const inboxes: Record<string, InboxRow[]> = {};
  for (const client of everyone) {
    const rows: InboxRow[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await get(
        endpoint,
        client,
        `/conversations?limit=100&after=${after}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      rows.push(...(page.conversations as InboxRow[]));
      if (typeof page.nextCursor !== 'string') break;
      cursor = page.nextCursor;
    }
    inboxes[client.userId] = rows;
  }

  const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 2, applicationName: 'herald-chaos' });
  const streams: Record<string, LogEvent[]> = {};
  const receipts: Record<string, LogEvent[]> = {};
  try {
    for (const conversation of world.conversations) {
      streams[conversation.id] = await readStream(store, streamIdOf('conversation', conversation.id));
    }
    for (const client of everyone)
      receipts[client.userId] = await readStream(store, streamIdOf('receipts', client.userId));
  } finally {
    await store.close();
  }

  const records = kafka ? await kafka.drain(streams) : undefined;
  return { users, members, streams, receipts, timelines, inboxes, ...(records ? { kafka: records } : {}) };
}

/**
 * Reads the conversations topic from its beginning, as records arrive, for the whole run:
 * the mock cluster keeps only the newest few MB of each partition (older segments go), so
 * a reader that starts at the end of a long run would find the early records gone.
 */
export class KafkaCollector {
  readonly records: KafkaRecord[] = [];
  private readonly seen = new Set<string>();

  private constructor(private readonly consumer: kafkajs.Consumer) {}

  static async start(brokers: readonly string[]): Promise<KafkaCollector> {
    const kafka = new kafkajs.Kafka({
      clientId: 'herald-chaos',
      brokers: [...brokers],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: `chaos-${randomUUID()}`, maxWaitTimeInMs: 200 });
    const collector = new KafkaCollector(consumer);
    await consumer.connect();
    // The topic exists once the relay produced to it (the mock creates topics on first use).
    for (let attempt = 0; ; attempt++) {
      try {
        await consumer.subscribe({ topics: ['herald.conversations.v1'], fromBeginning: true });
        break;
      } catch (error) {
        if (attempt > 60) throw error;
        await sleep(500);
      }
    }
    await consumer.run({
      eachMessage: ({ message }) => {
        try {
          const value = JSON.parse(message.value?.toString() ?? '{}') as { eventId?: string; streamRevision?: number };
          if (value.eventId) {
            collector.records.push({
              key: message.key?.toString() ?? '',
              eventId: value.eventId,
              streamRevision: Number(value.streamRevision),
            });
            collector.seen.add(value.eventId);
          }
        } catch {
          // Not JSON: the checker will miss its event.
        }
        return Promise.resolve();
      },
    });
    return collector;
  }

  /** Waits until every conversation's last event arrived (or 90 s passed: what is missing then is the checker's to report). */
  async drain(streams: Record<string, LogEvent[]>): Promise<KafkaRecord[]> {
    const last = Object.values(streams)
      .filter((events) => events.length > 0)
      .map((events) => events[events.length - 1]!.eventId);
    const deadline = Date.now() + 90_000;
    while (last.some((id) => !this.seen.has(id)) && Date.now() < deadline) await sleep(250);
    return this.records;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}
