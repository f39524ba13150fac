/**
 * The integration stream's wire format: which topic an event goes to, its key, its value
 * and its CloudEvents headers (Kafka protocol binding, binary mode). The relay produces
 * exactly this; the AsyncAPI document and the JSON Schemas describe exactly this.
 */
import { CATEGORIES, type Category } from './define.js';
import { CatalogueError, PUBLIC_EVENT_TYPES, readEvent } from './catalogue.js';
import { categoryOfStream } from './streams.js';

const PUBLIC_TYPES = new Set(PUBLIC_EVENT_TYPES);

/** The topics' contract version: it changes only if the envelope or headers change incompatibly. */
export const TOPIC_VERSION = 1;
export const DEFAULT_TOPIC_PREFIX = 'herald';

export function topicName(category: Category, prefix = DEFAULT_TOPIC_PREFIX): string {
  return `${prefix}.${CATEGORIES[category].topic}.v${TOPIC_VERSION}`;
}

export function allTopics(prefix = DEFAULT_TOPIC_PREFIX): string[] {
  return [...new Set((Object.keys(CATEGORIES) as Category[]).map((c) => topicName(c, prefix)))];
}

/** `ce_type`: the event type and its version, so a consumer can route on both. */
export const cloudEventType = (type: string, version: number): string => `herald.${type}.v${version}`;
/** `ce_source`: which Herald (by topic prefix) and which category. */
export const cloudEventSource = (category: Category, prefix = DEFAULT_TOPIC_PREFIX): string => `/${prefix}/${category}`;

/** Every header the relay sets, with its meaning (the AsyncAPI document and the docs use this). */
export const HEADERS = {
  ce_specversion: 'CloudEvents version: `1.0`.',
  ce_id: 'The event id (UUID): deduplicate by it.',
  ce_type: 'Event type and version, e.g. `herald.MessageSent.v1`.',
  ce_source: 'Producing Herald and category, e.g. `/herald/conversation`.',
  ce_subject: 'The stream id, e.g. `conversation-<id>` (also the record key).',
  ce_time: 'When the event occurred (`metadata.occurredAt`), RFC 3339.',
  ce_streamrevision: "The event's revision in its stream; for conversations, the message seq.",
  ce_checkpoint: "The event's global position in Herald's log (opaque, sortable as a string).",
  ce_correlationid: 'Correlation id from the metadata.',
  ce_causationid: 'Causation id from the metadata.',
  'content-type': 'Always `application/json`.',
} as const;

export type HeaderName = keyof typeof HEADERS;

/**
 * Headers set only when the event has a trace context: the CloudEvents distributed tracing
 * extension (`ce_traceparent`, the event's origin) and the W3C header Kafka tracing reads
 * (`traceparent`, the record's own).
 */
export const OPTIONAL_HEADERS = {
  ce_traceparent:
    "W3C trace context of the request that caused the event (its metadata's `traceparent`; CloudEvents distributed tracing extension). Only when it had one.",
  traceparent:
    "W3C trace context of the record: the relay's publish span, a child of `ce_traceparent`, when Herald traces (OTEL_EXPORTER_OTLP_ENDPOINT); otherwise `ce_traceparent` itself. Only when the event has one.",
} as const;

export type OptionalHeaderName = keyof typeof OPTIONAL_HEADERS;

/** A stored event as the relay gets it from the store (structurally the store's RecordedEvent). */
export interface RecordedEventShape {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: {
    readonly correlationId: string;
    readonly causationId: string;
    readonly occurredAt: string;
    readonly traceparent?: string;
  };
  readonly streamId: string;
  readonly streamRevision: number;
  readonly globalPosition: string;
  readonly recordedAt: Date;
}

/** The record value: the event with its place in Herald's log (JSON; described by `schemas/<Type>.v<N>.json`). */
export interface WireEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly checkpoint: string;
  readonly recordedAt: string;
  readonly data: Record<string, unknown>;
  readonly metadata: unknown;
}

export interface WireRecord {
  readonly topic: string;
  readonly key: string;
  readonly value: string;
  readonly headers: Record<HeaderName, string> & Partial<Record<OptionalHeaderName, string>>;
}

/**
 * The record for an event: upcast to the newest version and validated (throws
 * CatalogueError otherwise). Personal fields are copied as the store holds them.
 */
export function toWireRecord(event: RecordedEventShape, prefix = DEFAULT_TOPIC_PREFIX): WireRecord {
  const category = categoryOfStream(event.streamId);
  if (!category)
    throw new CatalogueError('EVENT.UNKNOWN_STREAM', `stream ${event.streamId} is in no catalogued category`);
  if (!PUBLIC_TYPES.has(event.type)) {
    throw new CatalogueError('EVENT.UNKNOWN_TYPE', `${event.type} is internal: it is never published`);
  }
  const read = readEvent(event);
  const { traceparent } = event.metadata;
  const value: WireEvent = {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: read.schemaVersion,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    checkpoint: event.globalPosition,
    recordedAt: event.recordedAt.toISOString(),
    data: read.data,
    metadata: event.metadata,
  };
  return {
    topic: topicName(category, prefix),
    key: event.streamId,
    value: JSON.stringify(value),
    headers: {
      ce_specversion: '1.0',
      ce_id: event.eventId,
      ce_type: cloudEventType(event.type, read.schemaVersion),
      ce_source: cloudEventSource(category, prefix),
      ce_subject: event.streamId,
      ce_time: event.metadata.occurredAt,
      ce_streamrevision: String(event.streamRevision),
      ce_checkpoint: event.globalPosition,
      ce_correlationid: event.metadata.correlationId,
      ce_causationid: event.metadata.causationId,
      'content-type': 'application/json',
      ...(typeof traceparent === 'string' ? { ce_traceparent: traceparent, traceparent } : {}),
    },
  };
}
