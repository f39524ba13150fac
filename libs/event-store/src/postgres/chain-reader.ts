/**
 * One stream's events as their hash chain covers them (`EventStore.readChain`), read from
 * herald_events as stored: the JSON columns as text, byte for byte what the hash covers,
 * every row whatever the stream's retention or soft delete (they hide rows from readers,
 * they do not remove them).
 */
import type pg from 'pg';
import type { PersonalSalts } from '../integrity/event-hash.js';
import type { ChainedEvent, StreamRevision } from '../types.js';
import { LEAF_COLUMNS } from './integrity/seals.js';

type Raw = [string, string, string, string, string, string, string, string | null, string, string, string, string];
/** No type parsing: the text is what the hash covers. (The ORDER BY names the table: the bare name is the text column of the SELECT.) */
const RAW_TYPES = { getTypeParser: () => (value: string) => value };

export async function readChainRows(
  db: Pick<pg.Pool | pg.PoolClient, 'query'>,
  streamId: string,
  from: StreamRevision,
  limit: number,
): Promise<ChainedEvent[]> {
  const { rows } = await db.query<Raw>({
    text: `SELECT stream_id, stream_revision::text, event_id::text, type, schema_version::text,
             data::text, metadata::text, personal::text, ${LEAF_COLUMNS}
           FROM herald_events WHERE stream_id = $1 AND stream_revision >= $2
           ORDER BY herald_events.stream_revision LIMIT $3`,
    values: [streamId, from, limit],
    rowMode: 'array',
    types: RAW_TYPES,
  });
  return rows.map(([stream, revision, eventId, type, version, data, metadata, personal, , , checkpoint, hash]) => ({
    streamId: stream,
    streamRevision: Number(revision),
    eventId,
    type,
    schemaVersion: Number(version),
    data,
    metadata,
    personal: personal === null ? null : (JSON.parse(personal) as PersonalSalts),
    hash: hash === '' ? null : hash,
    globalPosition: checkpoint as ChainedEvent['globalPosition'],
  }));
}
