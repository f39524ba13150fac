/**
 * The hash chain on the write path (ADR 030): what can be computed before a stream's lock
 * (personal salts and the content hash) is computed when an append arrives; the chained
 * hash, which needs the stream's previous event, is computed by the write plan under the
 * lock, by which writers of the same stream already serialize.
 */
import { contentHash, contentHashOfText, saltPersonalFields, valueAt, type EventContent } from './event-hash.js';
import type { SerializedEvent } from '../validation.js';

/** Which data fields of an event type are personal (the catalogue's paths: `text`, `attachments[].url`). */
export type PersonalFields = (type: string) => readonly string[];

/** A validated event with the parts of its hash that do not depend on its stream. */
export interface PreparedEvent extends SerializedEvent {
  /** Absent when the store writes without hashes (a benchmark's comparison only). */
  readonly chain?: {
    readonly content: string;
    /** The personal salts as stored (JSON), null when the event has no personal value. */
    readonly personal: string | null;
  };
}

export function prepareEvents(events: readonly SerializedEvent[], personalFields: PersonalFields): PreparedEvent[] {
  return events.map((e) => {
    const paths = personalFields(e.event.type);
    const salts = paths.length === 0 ? null : saltPersonalFields(e.event.data, paths);
    const content: EventContent = {
      eventId: e.event.eventId.toLowerCase(),
      type: e.event.type,
      schemaVersion: e.event.schemaVersion,
      data: e.data,
      metadata: e.metadata,
      personal: salts,
    };
    // On the data's JSON text as serialized, each personal value's digest spliced in (no
    // second serialization of the whole data), when each value's text there is the one
    // salted; otherwise by re-serializing.
    const hash =
      contentHashOfText(content, (pointer, text) => text === JSON.stringify(valueAt(e.event.data, pointer))) ??
      contentHash(content, e.event.data);
    return { ...e, chain: { content: hash, personal: salts && JSON.stringify(salts) } };
  });
}
