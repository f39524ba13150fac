/** The log's rows as PostgreSQL returns them (EVENT_COLUMNS), and as the port's events. */
import { encodeCheckpoint } from '../checkpoint.js';
import type { RecordedEvent } from '../types.js';

export interface EventRow {
  tx: string;
  pos: string;
  stream_id: string;
  stream_revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: Record<string, unknown>;
  recorded_ms: number;
}

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata as RecordedEvent['metadata'],
    streamId: row.stream_id,
    streamRevision: Number(row.stream_revision),
    globalPosition: encodeCheckpoint(BigInt(row.tx), BigInt(row.pos)),
    recordedAt: new Date(row.recorded_ms),
  };
}
