/**
 * The Kafka relay as a follower of the event log: a projection whose "read model" is the
 * integration stream. The projection runner gives it what the relay needs: one active
 * instance (advisory lock), its own checkpoint, stored only after `apply` returned, that
 * is after the broker acknowledged the batch (so a crash re-delivers at most that batch,
 * never leaves a gap), backoff while the broker is down, and a parked event (the relay
 * stops at it) when an event cannot be published at all.
 */
import { PUBLIC_EVENT_TYPES, STREAM_PREFIXES, toWireRecord } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import { IntegrationStreamUnavailable, type IntegrationProducer } from './producer.js';

export const relayName = (topicPrefix: string): string => `relay.kafka.${topicPrefix}`;

export function kafkaRelay(producer: IntegrationProducer, topicPrefix: string): Projection {
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
      await producer.send(records);
    },
    isTransient: (error) => error instanceof IntegrationStreamUnavailable,
  };
}
