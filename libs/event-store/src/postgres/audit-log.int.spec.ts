import { createPool, migrateDatabase } from '@herald/database';
import { freshDatabase } from '@herald/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint, type Checkpoint } from '../checkpoint.js';
import { AUDIT_WINDOW } from '../audit-log.js';
import type { AuditLogQuery } from '../types.js';
import { PostgresAuditLog } from './audit-log.js';
import { EVENT_STORE_MIGRATIONS } from './schema.js';

/** More rows than one look-up of window ends covers (16 windows), in many transactions; some text needing escapes. */
const ROWS = AUDIT_WINDOW * 16 * 2 + 777;

let pool: pg.Pool;
beforeAll(async () => {
  const url = await freshDatabase();
  await migrateDatabase(url, EVENT_STORE_MIGRATIONS);
  pool = createPool({ connectionString: url, max: 4 });
  for (let from = 0; from < ROWS; from += 10_000) {
    await pool.query(
      `INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
       SELECT 'conversation-' || (n % 97), n / 97, gen_random_uuid(), CASE WHEN n % 5 = 0 THEN 'ReactionAdded' ELSE 'MessageSent' END, 1,
              json_build_object('text', 'line ' || n || E' with "quotes"\\u00e9 and \\\\ ', 'n', n),
              json_build_object('actorId', 'u-' || (n % 7), 'occurredAt', '2026-12-07T00:00:00.000Z')
         FROM generate_series($1::int, $2::int) AS n`,
      [from, Math.min(from + 10_000, ROWS) - 1],
    );
  }
}, 120_000);
afterAll(() => pool.end());

async function exported(
  windowsAtOnce: number,
  query: AuditLogQuery = {},
  window?: number,
): Promise<{ text: string; counted: number }> {
  let counted = 0;
  let text = '';
  const log = new PostgresAuditLog(pool, { windowsAtOnce, ...(window ? { window } : {}) });
  for await (const chunk of await log.ndjson(query, (n) => (counted += n))) {
    text += chunk;
  }
  return { text, counted };
}

describe('the audit export with several windows built at once', () => {
  it('writes the same lines, byte for byte, as one window after another', async () => {
    const one = await exported(1);
    expect(one.counted).toBe(ROWS);
    expect(one.text.split('\n').length).toBe(ROWS + 1);
    for (const atOnce of [2, 3]) expect(await exported(atOnce)).toEqual(one);
    expect(await exported(2, {}, 500)).toEqual(one);

    // A range and a filter: the same too.
    const lines = one.text.trimEnd().split('\n');
    const checkpointOf = (i: number) => (JSON.parse(lines[i]!) as { checkpoint: Checkpoint }).checkpoint;
    const ranged: AuditLogQuery = { after: checkpointOf(1_234), upTo: checkpointOf(AUDIT_WINDOW * 20 + 5) };
    const rangedOne = await exported(1, ranged);
    expect(rangedOne.counted).toBe(AUDIT_WINDOW * 20 + 5 - 1_234);
    expect(await exported(2, ranged)).toEqual(rangedOne);
    const filtered: AuditLogQuery = { eventTypes: ['ReactionAdded'], actorId: 'u-3' };
    const filteredOne = await exported(1, filtered);
    expect(filteredOne.counted).toBeGreaterThan(0);
    expect(await exported(2, filtered)).toEqual(filteredOne);
    // Nothing after the head.
    expect(await exported(2, { after: checkpointOf(ROWS - 1) })).toEqual({ text: '', counted: 0 });
    expect(encodeCheckpoint(0n, 0n) < checkpointOf(0)).toBe(true);
  });
});
