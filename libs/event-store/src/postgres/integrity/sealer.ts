/**
 * The sealer (ADR 030): a follower of the global log whose checkpoint is its newest seal.
 * Every interval it seals what the log holds beyond that seal, up to the head a subscriber
 * can see (rows there are final: none can commit behind them): a Merkle tree over the
 * events in checkpoint order, its root chained to the previous seal's hash. One instance
 * seals at a time (a transaction-level advisory lock; the seal number's primary key is the
 * fence behind it); the others find the work done.
 */
import type pg from 'pg';
import { createPool, type DatabaseTimeouts } from '@herald/database';
import { decodeCheckpoint, encodeCheckpoint, START } from '../../checkpoint.js';
import { leafHash, MerkleRoot, sealHash } from '../../integrity/merkle.js';
import { headCheckpointQuery } from '../log-queries.js';
import { LEAF_COLUMNS, latestSeal, type LeafRow, type StoredSeal } from './seals.js';

/** Events in one seal at most: an inclusion proof reads one seal's leaves (32 bytes each). */
export const MAX_SEAL_EVENTS = 100_000;
/** Its own key space among advisory locks ("HRLS"). */
const SEAL_LOCK = 0x48524c53;

export interface SealerOptions {
  readonly connectionString: string;
  /** How often the newest range is sealed (SEAL_INTERVAL_MS). */
  readonly intervalMs: number;
  readonly maxEvents?: number;
  readonly timeouts?: DatabaseTimeouts;
  readonly log?: (level: 'info' | 'warn', message: string) => void;
}

export class Sealer {
  private readonly pool: pg.Pool;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: SealerOptions) {
    this.pool = createPool({
      connectionString: options.connectionString,
      max: 1,
      applicationName: 'herald-sealer',
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      onError: (error) => options.log?.('warn', `sealer connection error: ${error.message}`),
    });
  }

  /** Seals every interval until stopped. */
  start(): void {
    const tick = (): void => {
      this.running = this.sealAll()
        .catch((error: unknown) => {
          this.options.log?.('warn', `sealing failed, retrying in ${this.options.intervalMs} ms: ${String(error)}`);
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.pool.end();
  }

  /** Seals everything up to the head, in seals of at most maxEvents; returns the seals made. */
  async sealAll(): Promise<StoredSeal[]> {
    const made: StoredSeal[] = [];
    for (;;) {
      const seal = await this.sealOnce();
      if (!seal) return made;
      made.push(seal);
      if (seal.eventCount < (this.options.maxEvents ?? MAX_SEAL_EVENTS) || this.stopped) return made;
    }
  }

  /** Seals the next range (up to maxEvents); undefined when there is nothing new or another instance is sealing. */
  async sealOnce(): Promise<StoredSeal | undefined> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        SEAL_LOCK,
      ]);
      if (!lock.rows[0]?.locked) {
        await client.query('ROLLBACK');
        return undefined;
      }
      const previous = await latestSeal(client);
      const after = previous?.lastCheckpoint ?? START;
      const head = await client.query<{ tx: string; pos: string }>(headCheckpointQuery());
      const top = head.rows[0];
      if (!top || encodeCheckpoint(BigInt(top.tx), BigInt(top.pos)) <= after) {
        await client.query('ROLLBACK');
        return undefined;
      }
      const [afterTx, afterPos] = decodeCheckpoint(after as never);
      const { rows } = await client.query<LeafRow>(
        `SELECT ${LEAF_COLUMNS} FROM herald_events
          WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
            AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
          ORDER BY tx_id, global_position LIMIT $5`,
        [afterTx.toString(), afterPos.toString(), top.tx, top.pos, this.options.maxEvents ?? MAX_SEAL_EVENTS],
      );
      const tree = new MerkleRoot();
      for (const row of rows) tree.push(leafHash(leafOf(row)));
      const last = rows[rows.length - 1]!;
      const fields = {
        number: (previous?.number ?? 0) + 1,
        afterCheckpoint: after,
        lastCheckpoint: encodeCheckpoint(BigInt(last.tx), BigInt(last.pos)),
        eventCount: rows.length,
        merkleRoot: tree.root().toString('hex'),
        previousHash: previous?.sealHash ?? null,
      };
      const hash = sealHash(fields);
      const inserted = await client.query<{ sealed_at: Date }>(
        `INSERT INTO herald_seals (seal_number, after_checkpoint, last_checkpoint, event_count, merkle_root, previous_hash, seal_hash)
         VALUES ($1, $2, $3, $4, decode($5, 'hex'), decode($6, 'hex'), decode($7, 'hex')) RETURNING sealed_at`,
        [
          fields.number,
          fields.afterCheckpoint,
          fields.lastCheckpoint,
          fields.eventCount,
          fields.merkleRoot,
          fields.previousHash,
          hash,
        ],
      );
      await client.query('COMMIT');
      return { ...fields, sealHash: hash, sealedAt: inserted.rows[0]!.sealed_at };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}

export const leafOf = (row: LeafRow) => ({
  checkpoint: row.checkpoint,
  recordedAtMicros: row.recorded_us,
  hash: row.hash,
});
