/**
 * The one-time migration of the hash chain (ADR 030): events written before it get their
 * hashes and personal salts, stream by stream in revision order, in one transaction (a
 * crash leaves none, and the next start does it again). `herald_integrity.backfilled`
 * says it is done; a fresh database has nothing to do.
 */
import { createPool } from '@herald/database';
import { contentHash, eventHash, saltPersonalFields } from '../integrity/event-hash.js';
import type { PersonalFields } from '../integrity/chain.js';

const PAGE = 5_000;
/** Serializes the backfill of processes starting together (its own key space). */
const BACKFILL_LOCK = 0x48524c45;

interface Row {
  stream_id: string;
  stream_revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
}

export async function backfillHashes(connectionString: string, personalFields: PersonalFields): Promise<number> {
  const pool = createPool({ connectionString, max: 1, applicationName: 'herald-migrations' });
  const client = await pool.connect();
  let count = 0;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [BACKFILL_LOCK]);
    const state = await client.query<{ backfilled: boolean }>('SELECT backfilled FROM herald_integrity');
    if (state.rows[0]?.backfilled !== false) {
      await client.query('COMMIT');
      return 0;
    }
    let after: [string, string] = ['', '-1'];
    let previous: { stream: string; hash: string } | undefined;
    for (;;) {
      const { rows } = await client.query<Row>(
        `SELECT stream_id, stream_revision::text, event_id::text, type, schema_version, data::text AS data, metadata::text AS metadata
           FROM herald_events WHERE (stream_id, stream_revision) > ($1, $2::bigint)
          ORDER BY herald_events.stream_id, herald_events.stream_revision LIMIT ${PAGE}`,
        after,
      );
      if (rows.length === 0) break;
      const ids: string[] = [];
      const hashes: string[] = [];
      const personal: (string | null)[] = [];
      for (const row of rows) {
        const salts = saltPersonalFields(JSON.parse(row.data) as unknown, personalFields(row.type));
        const content = contentHash({
          eventId: row.event_id,
          type: row.type,
          schemaVersion: row.schema_version,
          data: row.data,
          metadata: row.metadata,
          personal: salts,
        });
        const prev = previous?.stream === row.stream_id ? previous.hash : null;
        const hash = eventHash(row.stream_id, Number(row.stream_revision), content, prev);
        previous = { stream: row.stream_id, hash };
        ids.push(row.event_id);
        hashes.push(hash);
        personal.push(salts && JSON.stringify(salts));
      }
      await client.query(
        `UPDATE herald_events e SET hash = decode(u.h, 'hex'), personal = u.p
           FROM unnest($1::uuid[], $2::text[], $3::json[]) AS u(i, h, p) WHERE e.event_id = u.i`,
        [ids, hashes, personal],
      );
      count += rows.length;
      const last = rows[rows.length - 1]!;
      after = [last.stream_id, last.stream_revision];
    }
    await client.query('UPDATE herald_integrity SET backfilled = true');
    await client.query('COMMIT');
    return count;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
    await pool.end();
  }
}
