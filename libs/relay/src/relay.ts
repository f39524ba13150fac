/**
 * The Kafka relay as a follower of the event log: a projection whose "read model" is the
 * integration stream. The projection runner gives it what the relay needs: one active
 * instance (advisory lock), its own checkpoint, stored only after `apply` returned, that
 * is after the broker acknowledged the batch (so a crash re-delivers at most that batch,
 * never leaves a gap), backoff while the broker is down, and a parked event (the relay
 * stops at it) when an event cannot be published at all.
 */
import { PUBLIC_EVENT_TYPES, STREAM_PREFIXES, toWireRecord, type WireRecord } from '@herald/events';
import { endSpan, SpanKind, startSpan, traceparentOf, tracingEnabled, type Span } from '@herald/observability';
import type { Projection } from '@herald/projection-runtime';
import { IntegrationStreamUnavailable, type IntegrationProducer } from './producer.js';

export const relayName = (topicPrefix: string): string => `relay.kafka.${topicPrefix}`;

export interface RelayOptions {
  /** Told how many records the brokers acknowledged (herald_relay_records_published_total). */
  readonly published?: (records: number) => void;
}

/**
 * With tracing on, a PRODUCER span per record whose event carries a trace context, a child
 * of it; the record's `traceparent` header becomes the span's, so a consumer's trace
 * continues from the publish (`ce_traceparent` keeps the event's own).
 */
function traced(records: WireRecord[]): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const parent = record.headers.ce_traceparent;
    if (parent === undefined) continue;
    const span = startSpan(`${record.topic} publish`, {
      kind: SpanKind.PRODUCER,
      parent,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.operation.type': 'send',
        'messaging.destination.name': record.topic,
        'messaging.message.id': record.headers.ce_id,
        'messaging.kafka.message.key': record.key,
      },
    });
    if (!span) continue;
    spans.push(span);
    records[i] = { ...record, headers: { ...record.headers, traceparent: traceparentOf(span.spanContext()) } };
  }
  return spans;
}

export function kafkaRelay(producer: IntegrationProducer, topicPrefix: string, options: RelayOptions = {}): Projection {
  return {
    name: relayName(topicPrefix),
    // Only the public categories and event types are the contract (a user's password hash
    // is an internal event in the user's stream).
    filter: { streamPrefixes: STREAM_PREFIXES, eventTypes: PUBLIC_EVENT_TYPES },
    // Larger batches than a read model's: a produce round trip costs more than a statement.
    batchSize: 1000,
    async apply(events) {
      // Upcast and validate every event first: one the catalogue cannot read (a
      // CatalogueError) is parked before anything of the batch is produced twice.
      const records = events.map((event) => toWireRecord(event, topicPrefix));
      const spans = tracingEnabled() ? traced(records) : [];
      try {
        await producer.send(records);
      } catch (error) {
        for (const span of spans) endSpan(span, error);
        throw error;
      }
      for (const span of spans) endSpan(span);
      options.published?.(records.length);
    },
    isTransient: (error) => error instanceof IntegrationStreamUnavailable,
  };
}
