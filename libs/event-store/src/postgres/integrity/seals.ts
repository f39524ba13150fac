/** The seals table as the sealer, `herald verify` and inclusion proofs read it, and the SQL they share. */
import type pg from 'pg';
import type { SealFields } from '../../integrity/merkle.js';

/**
 * A leaf's columns (merkle.ts LeafInput): checkpoint parts, the checkpoint as checkpoint.ts
 * encodes it (made by the server: cheaper there than BigInt arithmetic per row here), the
 * stored hash, recorded_at in microseconds.
 */
export const LEAF_COLUMNS = `tx_id::text AS tx, global_position::text AS pos,
  lpad(to_hex(tx_id::text::bigint), 16, '0') || '-' || lpad(to_hex(global_position), 16, '0') AS checkpoint,
  coalesce(encode(hash, 'hex'), '') AS hash, (extract(epoch FROM recorded_at) * 1000000)::bigint::text AS recorded_us`;

export interface LeafRow {
  tx: string;
  pos: string;
  checkpoint: string;
  hash: string;
  recorded_us: string;
}

export interface StoredSeal extends SealFields {
  readonly sealHash: string;
  readonly sealedAt: Date;
}

interface SealRow {
  number_text: string;
  after_checkpoint: string;
  last_checkpoint: string;
  event_count: number;
  merkle_root: string;
  previous_hash: string | null;
  seal_hash: string;
  sealed_at: Date;
}

/** (Not aliased `seal_number`: an ORDER BY seal_number must sort the column, not its text.) */
export const SEAL_COLUMNS = `seal_number::text AS number_text, after_checkpoint, last_checkpoint, event_count, encode(merkle_root, 'hex') AS merkle_root,
  encode(previous_hash, 'hex') AS previous_hash, encode(seal_hash, 'hex') AS seal_hash, sealed_at`;

export const toSeal = (row: SealRow): StoredSeal => ({
  number: Number(row.number_text),
  afterCheckpoint: row.after_checkpoint,
  lastCheckpoint: row.last_checkpoint,
  eventCount: row.event_count,
  merkleRoot: row.merkle_root,
  previousHash: row.previous_hash,
  sealHash: row.seal_hash,
  sealedAt: row.sealed_at,
});

export async function querySeals(
  client: pg.ClientBase | pg.Pool,
  where: string,
  values: unknown[],
): Promise<StoredSeal[]> {
  const { rows } = await client.query<SealRow>(`SELECT ${SEAL_COLUMNS} FROM herald_seals ${where}`, values);
  return rows.map(toSeal);
}

/** The newest seal, if any. */
export async function latestSeal(client: pg.ClientBase | pg.Pool): Promise<StoredSeal | undefined> {
  return (await querySeals(client, 'ORDER BY seal_number DESC LIMIT 1', []))[0];
}
