/**
 * The dead-letter table: events a projection parked because they keep failing, and the
 * operator's decision on them. Shared by every instance of a projection.
 */
import type { RecordedEvent } from '@herald/event-store';
import type { DataSource } from 'typeorm';
import type { ParkedEvent } from './projection.js';

interface DeadLetterRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  event_type: string;
  error: string;
  attempts: number;
}

/** The event the projection is stopped at, if any. */
export async function openDeadLetter(dataSource: DataSource, projection: string): Promise<ParkedEvent | undefined> {
  const rows = await dataSource.query<DeadLetterRow[]>(
    `SELECT event_id::text, stream_id, stream_revision::text, event_type, error, attempts
       FROM herald_projection_dead_letters WHERE projection = $1 AND resolved_at IS NULL`,
    [projection],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    eventId: row.event_id,
    streamId: row.stream_id,
    streamRevision: Number(row.stream_revision),
    eventType: row.event_type,
    error: row.error,
    attempts: row.attempts,
  };
}

export async function hasOpenDeadLetter(dataSource: DataSource, projection: string): Promise<boolean> {
  const rows = await dataSource.query<{ open: boolean }[]>(
    'SELECT true AS open FROM herald_projection_dead_letters WHERE projection = $1 AND resolved_at IS NULL',
    [projection],
  );
  return rows.length > 0;
}

export async function parkEvent(
  dataSource: DataSource,
  projection: string,
  event: RecordedEvent,
  error: string,
  attempts: number,
): Promise<ParkedEvent> {
  await dataSource.query(
    `INSERT INTO herald_projection_dead_letters
       (projection, event_id, stream_id, stream_revision, global_position, event_type, error, attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      projection,
      event.eventId,
      event.streamId,
      event.streamRevision,
      event.globalPosition,
      event.type,
      error,
      attempts,
    ],
  );
  return {
    eventId: event.eventId,
    streamId: event.streamId,
    streamRevision: event.streamRevision,
    eventType: event.type,
    error,
    attempts,
  };
}

/**
 * An operator's decision on a parked event: `retry` applies it again (after a fix),
 * `skip` moves the projection's checkpoint past it. Both are recorded.
 */
export async function resolveParkedEvent(
  dataSource: DataSource,
  projection: string,
  resolution: 'retry' | 'skip',
): Promise<boolean> {
  return dataSource.transaction(async (manager) => {
    // TypeORM answers an UPDATE with [rows, affected].
    const [updated] = await manager.query<[{ global_position: string }[], number]>(
      `UPDATE herald_projection_dead_letters SET resolution = $2, resolved_at = now()
        WHERE projection = $1 AND resolved_at IS NULL RETURNING global_position`,
      [projection, resolution],
    );
    const parked = updated[0];
    if (!parked) return false;
    if (resolution === 'skip') {
      await manager.query(
        `INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET checkpoint = $2, updated_at = now()`,
        [projection, parked.global_position],
      );
    }
    return true;
  });
}
