/**
 * Inclusion proofs (ADR 030): for one event, everything needed to check offline that it
 * is in a seal — its stored content (to recompute its hash), the leaf's inputs, the Merkle
 * audit path to the seal's root, and the seal's fields (to recompute its hash, which is the
 * digest an auditor keeps). examples/verify-proof/ checks one without Herald's code.
 */
import type pg from 'pg';
import { decodeCheckpoint, encodeCheckpoint, isCheckpointInRange } from '../../checkpoint.js';
import { InvalidArgument } from '../../errors.js';
import { auditPath, formatDigest, leafHash } from '../../integrity/merkle.js';
import { leafOf } from './sealer.js';
import { LEAF_COLUMNS, querySeals, type LeafRow } from './seals.js';

export interface InclusionProof {
  readonly version: 'herald-proof-v1';
  /** The event as stored: what its hash covers (data and metadata as their stored JSON text). */
  readonly event: {
    readonly streamId: string;
    readonly streamRevision: number;
    readonly eventId: string;
    readonly type: string;
    readonly schemaVersion: number;
    readonly data: string;
    readonly metadata: string;
    readonly personal: Record<string, unknown> | null;
    /** Its stream predecessor's stored hash (null for revision 0). */
    readonly previousHash: string | null;
    readonly hash: string;
  };
  /** The leaf's inputs besides the hash. */
  readonly checkpoint: string;
  readonly recordedAtMicros: string;
  /** The leaf's place in its seal's tree, and the tree's size. */
  readonly leafIndex: number;
  readonly treeSize: number;
  /** RFC 9162 audit path, bottom up (hex). */
  readonly path: readonly string[];
  readonly seal: {
    readonly number: number;
    readonly afterCheckpoint: string;
    readonly lastCheckpoint: string;
    readonly eventCount: number;
    readonly merkleRoot: string;
    readonly previousHash: string | null;
    readonly sealHash: string;
  };
  /** The seal's digest, as `herald verify --digest` takes it. */
  readonly digest: string;
}

/** The event is in the log but no seal covers it yet (the sealer seals it within its interval). */
export class NotSealedYet extends Error {
  readonly code = 'AUDIT.NOT_SEALED_YET';
}
/** No event has this id or checkpoint. */
export class EventNotFound extends Error {
  readonly code = 'AUDIT.EVENT_NOT_FOUND';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EventRow extends LeafRow {
  stream_id: string;
  stream_revision: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  personal: string | null;
}

/** The proof for the event with this id (a UUID) or at this checkpoint. */
export async function inclusionProof(pool: pg.Pool | pg.ClientBase, ref: string): Promise<InclusionProof> {
  let where: string;
  let values: unknown[];
  if (UUID.test(ref)) {
    where = 'event_id = $1::uuid';
    values = [ref];
  } else if (isCheckpointInRange(ref)) {
    const [tx, pos] = decodeCheckpoint(ref);
    where = 'tx_id = $1::text::xid8 AND global_position = $2::bigint';
    values = [tx.toString(), pos.toString()];
  } else {
    throw new InvalidArgument(`not an event id or a checkpoint: ${JSON.stringify(ref.slice(0, 64))}`);
  }
  const found = await pool.query<EventRow>(
    `SELECT stream_id, stream_revision::text, event_id::text, type, schema_version, data::text AS data,
            metadata::text AS metadata, personal::text AS personal, ${LEAF_COLUMNS}
       FROM herald_events WHERE ${where}`,
    values,
  );
  const row = found.rows[0];
  if (!row) throw new EventNotFound(`no event ${ref}`);
  const checkpoint = encodeCheckpoint(BigInt(row.tx), BigInt(row.pos));
  const seal = (await querySeals(pool, 'WHERE last_checkpoint >= $1 ORDER BY seal_number LIMIT 1', [checkpoint]))[0];
  if (!seal || seal.afterCheckpoint >= checkpoint) throw new NotSealedYet(`event ${ref} is not sealed yet`);

  const [afterTx, afterPos] = decodeCheckpoint(seal.afterCheckpoint as never);
  const [lastTx, lastPos] = decodeCheckpoint(seal.lastCheckpoint as never);
  const leaves = await pool.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS} FROM herald_events
      WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint) AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
      ORDER BY tx_id, global_position`,
    [afterTx.toString(), afterPos.toString(), lastTx.toString(), lastPos.toString()],
  );
  const hashes = leaves.rows.map((r) => leafHash(leafOf(r)));
  const leafIndex = leaves.rows.findIndex((r) => r.tx === row.tx && r.pos === row.pos);
  const revision = Number(row.stream_revision);
  const previous =
    revision === 0
      ? null
      : ((
          await pool.query<{ hash: string | null }>(
            `SELECT encode(hash, 'hex') AS hash FROM herald_events WHERE stream_id = $1 AND stream_revision = $2`,
            [row.stream_id, revision - 1],
          )
        ).rows[0]?.hash ?? null);
  return {
    version: 'herald-proof-v1',
    event: {
      streamId: row.stream_id,
      streamRevision: revision,
      eventId: row.event_id,
      type: row.type,
      schemaVersion: row.schema_version,
      data: row.data,
      metadata: row.metadata,
      personal: row.personal === null ? null : (JSON.parse(row.personal) as Record<string, unknown>),
      previousHash: previous,
      hash: row.hash,
    },
    checkpoint,
    recordedAtMicros: row.recorded_us,
    leafIndex,
    treeSize: hashes.length,
    path: auditPath(hashes, leafIndex).map((h) => h.toString('hex')),
    seal: {
      number: seal.number,
      afterCheckpoint: seal.afterCheckpoint,
      lastCheckpoint: seal.lastCheckpoint,
      eventCount: seal.eventCount,
      merkleRoot: seal.merkleRoot,
      previousHash: seal.previousHash,
      sealHash: seal.sealHash,
    },
    digest: formatDigest(seal),
  };
}
