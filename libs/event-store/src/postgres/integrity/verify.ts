/**
 * `herald verify`'s check (ADR 030), on the PostgreSQL log. One pass over the log in
 * checkpoint order, in keyset pages (constant memory), checks both:
 * - each event's chain link: its hash recomputed from its stored content and its stream
 *   predecessor's stored hash (found in a bounded cache of streams seen, or looked up for a
 *   page at once) equals its stored hash; a missing predecessor is a deleted event;
 * - each seal: the Merkle root over its range's events, its count, its hash, and its link to
 *   the previous seal; and a digest the auditor kept, when given, equals its seal.
 * One stream alone is checked in revision order. The first broken link stops the check.
 */
import type pg from 'pg';
import { decodeCheckpoint, encodeCheckpoint, START, type Checkpoint } from '../../checkpoint.js';
import type { PersonalSalts } from '../../integrity/event-hash.js';
import { leafHash, MerkleRoot, sealHash } from '../../integrity/merkle.js';
import {
  recomputeHash,
  verifyStreamChain,
  type BrokenLink,
  type VerifyOptions,
  type VerifyReport,
} from '../../integrity/verify-chain.js';
import { readChainRows } from '../chain-reader.js';
import { headCheckpointQuery } from '../log-queries.js';
import { LEAF_COLUMNS, querySeals, type StoredSeal } from './seals.js';

const PAGE = 10_000;
/** Streams whose newest checked event the pass remembers (about 150 bytes each). */
const STREAM_CACHE = 100_000;

/** Raw columns, in this order (row mode `array`, no type parsing: the text is what the hash covers). */
const EVENT_SELECT = `SELECT stream_id, stream_revision::text, event_id::text, type, schema_version::text,
  data::text, metadata::text, personal::text, ${LEAF_COLUMNS} FROM herald_events`;
type Raw = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string | null,
  string,
  string,
  string,
  string,
  string,
];
const RAW_TYPES = { getTypeParser: () => (value: string) => value };

export async function verifyLog(pool: pg.Pool, options: VerifyOptions = {}): Promise<VerifyReport> {
  const client = await pool.connect();
  try {
    if (options.stream !== undefined) return await verifyStream(client, options);
    // A second connection looks up predecessors while the first reads the next page ahead.
    const lookups = await pool.connect();
    try {
      return await verifyRange(client, lookups, options);
    } finally {
      lookups.release();
    }
  } finally {
    client.release();
  }
}

/** The stored hash an event should have, or what is wrong with it. */
function recompute(row: Raw, previous: string | null): string | BrokenLink {
  const [streamId, revision, eventId, type, version, data, metadata, personal] = row;
  let salts: PersonalSalts | null;
  try {
    salts = personal === null ? null : (JSON.parse(personal) as PersonalSalts);
  } catch (error) {
    if (error instanceof SyntaxError) return { reason: error.message };
    throw error;
  }
  return recomputeHash(
    streamId,
    Number(revision),
    { eventId, type, schemaVersion: Number(version), data, metadata, personal: salts },
    previous,
  );
}

function checkLink(row: Raw, previous: string | null): BrokenLink | undefined {
  const [streamId, revision, , , , , , , , , checkpoint, hash] = row;
  const where = { streamId, revision: Number(revision), checkpoint };
  if (hash === '') return { ...where, reason: 'the event has no hash' };
  const expected = recompute(row, previous);
  if (typeof expected !== 'string') return { ...where, reason: `the event was altered: ${expected.reason}` };
  if (expected !== hash) {
    return {
      ...where,
      reason: 'the event was altered (its content, place or predecessor differs from what was hashed)',
    };
  }
  return undefined;
}

/** One stream: the same check as every adapter's (integrity/verify-chain.ts), on this connection. */
function verifyStream(client: pg.PoolClient, options: VerifyOptions): Promise<VerifyReport> {
  const reader = {
    readChain: (streamId: string, o: { from?: number; limit?: number } = {}) =>
      readChainRows(client, streamId, o.from ?? 0, o.limit ?? PAGE),
  };
  return verifyStreamChain(reader, options.stream!, options);
}

/** Seals in number order from a first one, a page at a time. */
class SealCursor {
  private buffer: StoredSeal[] = [];
  private next: number;
  constructor(
    private readonly client: pg.PoolClient,
    first: number,
  ) {
    this.next = first;
  }
  async peek(): Promise<StoredSeal | undefined> {
    if (this.buffer.length === 0) {
      this.buffer = await querySeals(this.client, 'WHERE seal_number >= $1 ORDER BY seal_number LIMIT 1000', [
        this.next,
      ]);
    }
    return this.buffer[0];
  }
  take(): void {
    const seal = this.buffer.shift();
    if (seal) this.next = seal.number + 1;
  }
}

async function verifyRange(
  client: pg.PoolClient,
  lookups: pg.PoolClient,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const head = (await client.query<{ tx: string; pos: string }>(headCheckpointQuery())).rows[0];
  const headCheckpoint = head ? encodeCheckpoint(BigInt(head.tx), BigInt(head.pos)) : START;
  let from: string = options.digest ? START : (options.from ?? START);
  let to: string = options.to && options.to < headCheckpoint ? options.to : headCheckpoint;
  if (options.to === undefined) {
    // Through the newest seal at least: a log that ends before it lost events.
    const newest = (await querySeals(client, 'ORDER BY seal_number DESC LIMIT 1', []))[0];
    if (newest && newest.lastCheckpoint > to) to = newest.lastCheckpoint;
  }
  // Whole seals: the range starts where the seal holding its first event starts…
  const firstSeal = (await querySeals(client, 'WHERE last_checkpoint > $1 ORDER BY seal_number LIMIT 1', [from]))[0];
  if (firstSeal && firstSeal.afterCheckpoint < from) from = firstSeal.afterCheckpoint;
  // …and ends where the seal holding its last event ends.
  const lastSeal = (await querySeals(client, 'WHERE last_checkpoint >= $1 ORDER BY seal_number LIMIT 1', [to]))[0];
  if (lastSeal && lastSeal.afterCheckpoint < to && lastSeal.lastCheckpoint > to) to = lastSeal.lastCheckpoint;
  if (options.digest && options.digest.lastCheckpoint > to) to = options.digest.lastCheckpoint;

  let events = 0;
  let sealsChecked = 0;
  let unsealed = 0;
  const report = (broken?: BrokenLink): VerifyReport => ({
    ok: broken === undefined,
    events,
    seals: sealsChecked,
    unsealed,
    from,
    to,
    ...(broken ? { broken } : {}),
  });

  const total = from === START && options.to === undefined ? await estimatedEvents(client) : undefined;
  const seals = new SealCursor(client, firstSeal?.number ?? Number.MAX_SAFE_INTEGER);
  // The seal being rebuilt, and the hash the next seal must link to.
  let current: { seal: StoredSeal; tree: MerkleRoot } | undefined;
  let linkTo: { number: number; hash: string; last: string } | undefined;
  if (firstSeal && firstSeal.number > 1) {
    const before = (await querySeals(client, 'WHERE seal_number = $1', [firstSeal.number - 1]))[0];
    if (before) linkTo = { number: before.number, hash: before.sealHash, last: before.lastCheckpoint };
  }

  /** Checks the seal being rebuilt once all its events went by. */
  const closeSeal = (): BrokenLink | undefined => {
    const { seal, tree } = current!;
    current = undefined;
    const at = { sealNumber: seal.number, checkpoint: seal.lastCheckpoint };
    const expectedNumber = linkTo ? linkTo.number + 1 : 1;
    if (seal.number !== expectedNumber) return { ...at, reason: `seal ${expectedNumber} is missing` };
    if (seal.afterCheckpoint !== (linkTo?.last ?? START) || seal.previousHash !== (linkTo?.hash ?? null)) {
      return { ...at, reason: `seal ${seal.number} does not follow seal ${expectedNumber - 1}` };
    }
    if (tree.size !== seal.eventCount) {
      return {
        ...at,
        reason: `seal ${seal.number} covers ${seal.eventCount} events, the log holds ${tree.size} in its range (events were deleted or added)`,
      };
    }
    const root = tree.root().toString('hex');
    if (root !== seal.merkleRoot) {
      return { ...at, reason: `seal ${seal.number}: the events in its range were rewritten or reordered` };
    }
    const hash = sealHash({ ...seal, merkleRoot: root });
    if (hash !== seal.sealHash) return { ...at, reason: `seal ${seal.number} was altered` };
    if (options.digest?.sealNumber === seal.number) {
      if (hash !== options.digest.sealHash || seal.lastCheckpoint !== options.digest.lastCheckpoint) {
        return { ...at, reason: `seal ${seal.number} differs from the digest: history before it was rewritten` };
      }
    }
    linkTo = { number: seal.number, hash, last: seal.lastCheckpoint };
    sealsChecked++;
    return undefined;
  };

  /** Opens the seals the log has reached, closing those it has passed. */
  const advanceSeals = async (checkpoint: string): Promise<BrokenLink | undefined> => {
    for (;;) {
      if (current && checkpoint <= current.seal.lastCheckpoint) return undefined;
      if (current) {
        const broken = closeSeal();
        if (broken) return broken;
      }
      const next = await seals.peek();
      if (!next || next.afterCheckpoint >= checkpoint || next.afterCheckpoint >= to) return undefined;
      seals.take();
      current = { seal: next, tree: new MerkleRoot() };
    }
  };

  // Streams' newest checked events (LRU: a Map's order is least recently used first).
  const streams = new Map<string, { revision: number; hash: string }>();
  const remember = (streamId: string, revision: number, hash: string): void => {
    streams.delete(streamId);
    streams.set(streamId, { revision, hash });
    if (streams.size > STREAM_CACHE) streams.delete(streams.keys().next().value!);
  };

  const [toTx, toPos] = decodeCheckpoint(to as Checkpoint);
  const page = (afterTx: string, afterPos: string): Promise<pg.QueryResult<Raw>> =>
    client.query<Raw>({
      text: `${EVENT_SELECT}
              WHERE (tx_id, global_position) > ($1::text::xid8, $2::bigint)
                AND (tx_id, global_position) <= ($3::text::xid8, $4::bigint)
              ORDER BY tx_id, global_position LIMIT ${PAGE}`,
      values: [afterTx, afterPos, toTx.toString(), toPos.toString()],
      rowMode: 'array',
      types: RAW_TYPES,
    });
  const [fromTx, fromPos] = decodeCheckpoint(from as Checkpoint);
  let pending: Promise<pg.QueryResult<Raw>> | undefined = page(fromTx.toString(), fromPos.toString());
  while (pending) {
    const { rows }: pg.QueryResult<Raw> = await pending;
    // The next page is read while this one is checked (the server works while this process hashes).
    const last = rows[rows.length - 1];
    pending = rows.length === PAGE && last ? page(last[8], last[9]) : undefined;
    // Awaited on the next turn; a check that stops early leaves it to finish on its own.
    pending?.catch(() => undefined);
    // Predecessors neither remembered nor earlier in this page: looked up at once.
    const seen = new Map<string, number>();
    const missing = new Map<string, [string, number]>();
    for (const row of rows) {
      const revision = Number(row[1]);
      const known = seen.get(row[0]) ?? streams.get(row[0])?.revision;
      if (revision > 0 && known !== revision - 1) missing.set(`${row[0]}\u0000${revision - 1}`, [row[0], revision - 1]);
      seen.set(row[0], revision);
    }
    const found = new Map<string, string>();
    if (missing.size > 0) {
      const keys = [...missing.values()];
      const lookup = await lookups.query<{ stream_id: string; stream_revision: string; hash: string }>(
        `SELECT e.stream_id, e.stream_revision::text, coalesce(encode(e.hash, 'hex'), '') AS hash
           FROM unnest($1::text[], $2::bigint[]) AS k(s, r)
           JOIN herald_events e ON e.stream_id = k.s AND e.stream_revision = k.r`,
        [keys.map((k) => k[0]), keys.map((k) => k[1])],
      );
      for (const r of lookup.rows) found.set(`${r.stream_id}\u0000${r.stream_revision}`, r.hash);
    }

    for (const row of rows) {
      const [streamId, revisionText, , , , , , , , , checkpoint, hash, recordedUs] = row;
      const revision = Number(revisionText);
      let previous: string | null = null;
      if (revision > 0) {
        const cached = streams.get(streamId);
        const prior = cached?.revision === revision - 1 ? cached.hash : found.get(`${streamId}\u0000${revision - 1}`);
        if (prior === undefined) {
          return report({
            streamId,
            revision: revision - 1,
            checkpoint,
            reason: `revision ${revision - 1} is missing (deleted)`,
          });
        }
        previous = prior;
      }
      const broken = checkLink(row, previous);
      if (broken) return report(broken);
      remember(streamId, revision, hash);
      if (!current || checkpoint > current.seal.lastCheckpoint) {
        const sealBroken = await advanceSeals(checkpoint);
        if (sealBroken) return report(sealBroken);
      }
      if (current && checkpoint > current.seal.afterCheckpoint) {
        current.tree.push(leafHash({ checkpoint, recordedAtMicros: recordedUs, hash }));
      } else unsealed++;
      events++;
    }
    options.onProgress?.(events, total);
  }
  // Seals whose range ends within the checked range, closed with what the log holds.
  const end = await advanceSeals(`${to}\u0000`);
  if (end) return report(end);
  if (options.digest && (linkTo?.number ?? 0) < options.digest.sealNumber) {
    return report({
      sealNumber: options.digest.sealNumber,
      reason: `seal ${options.digest.sealNumber} of the digest is missing: history before it was deleted`,
    });
  }
  return report();
}

async function estimatedEvents(client: pg.PoolClient): Promise<number | undefined> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = 'herald_events'::regclass`,
  );
  const n = Number(rows[0]?.n ?? 0);
  return n > 0 ? n : undefined;
}
