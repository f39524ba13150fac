/**
 * One segment of `herald verify`'s whole-log pass (ADR 030): the events of a checkpoint
 * range of whole seals, read in keyset pages, each event's chain link and each seal of the
 * range checked. A segment needs nothing from the others but the stored previous seal it
 * links to and its events' predecessors' stored hashes, which it looks up itself: the log
 * is split into segments checked side by side in worker threads (verify.ts), or checked as
 * one segment.
 */
import pg from 'pg';
import { decodeCheckpoint, START, type Checkpoint } from '../../checkpoint.js';
import { contentHashOfText, eventHash, type PersonalSalts } from '../../integrity/event-hash.js';
import { leafHash, MerkleRoot, sealHash, type Digest } from '../../integrity/merkle.js';
import { recomputeHash, type BrokenLink } from '../../integrity/verify-chain.js';
import { querySeals, type StoredSeal } from './seals.js';

const PAGE = 10_000;
/** Streams whose newest checked event a segment remembers (about 150 bytes each). */
const STREAM_CACHE = 100_000;

/**
 * Raw columns, in this order (row mode `array`, no type parsing: the text is what the hash
 * covers). The checkpoint is made here from tx and pos: cheaper than the server's to_hex.
 * (tx and pos are aliased: an ORDER BY of the bare names would sort the text columns.)
 */
const EVENT_SELECT = `SELECT stream_id, stream_revision::text, event_id::text, type, schema_version::text,
  data::text, metadata::text, personal::text, tx_id::text AS tx, global_position::text AS pos,
  coalesce(encode(hash, 'hex'), ''), (extract(epoch FROM recorded_at) * 1000000)::bigint::text FROM herald_events`;
type Raw = [string, string, string, string, string, string, string, string | null, string, string, string, string];
const RAW_TYPES = { getTypeParser: () => (value: string) => value };

/** The previous seal a segment's first seal must follow. */
export interface SealLink {
  readonly number: number;
  readonly hash: string;
  readonly last: string;
}

export interface Segment {
  /** The events after this checkpoint… */
  readonly from: string;
  /** …through this one. */
  readonly to: string;
  /** The first seal the segment may open (none: MAX_SAFE_INTEGER). */
  readonly firstSeal: number;
  readonly linkTo?: SealLink;
  readonly digest?: Digest;
  /** The log's last segment: checks that the digest's seal was reached. */
  readonly final: boolean;
}

export interface SegmentResult {
  readonly events: number;
  readonly seals: number;
  readonly unsealed: number;
  readonly broken?: BrokenLink;
  /**
   * Where the check stopped: at a row's link (`first-row` for the segment's first row,
   * found before any seal was closed), or at the end, closing the segment's last seal —
   * which a single pass would have closed only after checking the next segment's first row.
   */
  readonly brokenAt?: 'first-row' | 'row' | 'end';
  /**
   * Of `seals`, those closed as the segment ended: one pass closes them only after checking
   * the next segment's first row, so they do not count when that row is broken.
   */
  readonly sealsAtEnd: number;
}

/** 64-bit unsigned decimal text as 16 hex digits (Number below 2^53, BigInt beyond). */
const hex16 = (decimal: string): string =>
  (decimal.length < 16 ? Number(decimal).toString(16) : BigInt(decimal).toString(16)).padStart(16, '0');

/** The stored hash an event should have, or what is wrong with it (the check every adapter shares). */
function recompute(row: Raw, previous: string | null, salts: PersonalSalts | null): string | { reason: string } {
  const [streamId, revision, eventId, type, version, data, metadata] = row;
  return recomputeHash(
    streamId,
    Number(revision),
    { eventId, type, schemaVersion: Number(version), data, metadata, personal: salts },
    previous,
  );
}

/**
 * What is wrong with an event's link, if anything. The hash is first computed on the
 * stored text without re-serializing the data (contentHashOfText); only when that does
 * not give the stored hash does the full check (contentHash) decide, and name the fault.
 */
function checkLink(row: Raw, previous: string | null, checkpoint: string): BrokenLink | undefined {
  const [streamId, revision, eventId, type, version, data, metadata, personal, , , hash] = row;
  const at = (reason: string): BrokenLink => ({ streamId, revision: Number(revision), checkpoint, reason });
  if (hash === '') return at('the event has no hash');
  let salts: PersonalSalts | null;
  try {
    salts = personal === null ? null : (JSON.parse(personal) as PersonalSalts);
  } catch (error) {
    if (error instanceof SyntaxError) return at(`the event was altered: ${error.message}`);
    throw error;
  }
  const content =
    salts === null || (typeof salts === 'object' && !Array.isArray(salts))
      ? contentHashOfText({ eventId, type, schemaVersion: Number(version), data, metadata, personal: salts })
      : undefined;
  if (content !== undefined && eventHash(streamId, Number(revision), content, previous) === hash) return undefined;
  const expected = recompute(row, previous, salts);
  if (typeof expected !== 'string') return at(`the event was altered: ${expected.reason}`);
  if (expected !== hash) {
    return at('the event was altered (its content, place or predecessor differs from what was hashed)');
  }
  return undefined;
}

/** Seals in number order from a first one, a page at a time. */
class SealCursor {
  private buffer: StoredSeal[] = [];
  private next: number;
  constructor(
    private readonly client: pg.ClientBase,
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

/**
 * Checks one segment: `client` reads the pages, `lookups` finds predecessors; `progress`
 * is told how many events each page held.
 */
export async function verifySegment(
  client: pg.ClientBase,
  lookups: pg.ClientBase,
  segment: Segment,
  progress?: (events: number) => void,
): Promise<SegmentResult> {
  const { from, to, digest } = segment;
  let events = 0;
  let sealsChecked = 0;
  let unsealed = 0;
  let firstRow = true;
  let sealsAtEnd = 0;
  const result = (broken?: BrokenLink, brokenAt?: SegmentResult['brokenAt']): SegmentResult => ({
    events,
    seals: sealsChecked,
    unsealed,
    sealsAtEnd,
    ...(broken ? { broken, brokenAt: brokenAt! } : {}),
  });

  const seals = new SealCursor(client, segment.firstSeal);
  // The seal being rebuilt, and the hash the next seal must link to.
  let current: { seal: StoredSeal; tree: MerkleRoot } | undefined;
  let linkTo: SealLink | undefined = segment.linkTo;

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
    if (digest?.sealNumber === seal.number) {
      if (hash !== digest.sealHash || seal.lastCheckpoint !== digest.lastCheckpoint) {
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

  // Streams' newest checked events, updated in place; past the bound the longest known is
  // forgotten (a forgotten predecessor is looked up: the same stored hash, one query later).
  const streams = new Map<string, { revision: number; hash: string }>();
  const remember = (streamId: string, revision: number, hash: string): void => {
    const known = streams.get(streamId);
    if (known) {
      known.revision = revision;
      known.hash = hash;
      return;
    }
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
  // The tx part of the checkpoint, made once per transaction (a transaction's events are adjacent).
  let txText = '';
  let txHex = '';
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
      const [streamId, revisionText, , , , , , , tx, pos, hash, recordedUs] = row;
      if (tx !== txText) {
        txText = tx;
        txHex = hex16(tx);
      }
      const checkpoint = `${txHex}-${hex16(pos)}`;
      const revision = Number(revisionText);
      let previous: string | null = null;
      if (revision > 0) {
        const cached = streams.get(streamId);
        const prior = cached?.revision === revision - 1 ? cached.hash : found.get(`${streamId}\u0000${revision - 1}`);
        if (prior === undefined) {
          return result(
            { streamId, revision: revision - 1, checkpoint, reason: `revision ${revision - 1} is missing (deleted)` },
            firstRow ? 'first-row' : 'row',
          );
        }
        previous = prior;
      }
      const broken = checkLink(row, previous, checkpoint);
      if (broken) return result(broken, firstRow ? 'first-row' : 'row');
      firstRow = false;
      remember(streamId, revision, hash);
      if (!current || checkpoint > current.seal.lastCheckpoint) {
        const sealBroken = await advanceSeals(checkpoint);
        if (sealBroken) return result(sealBroken, 'row');
      }
      if (current && checkpoint > current.seal.afterCheckpoint) {
        current.tree.push(leafHash({ checkpoint, recordedAtMicros: recordedUs, hash }));
      } else unsealed++;
      events++;
    }
    progress?.(rows.length);
  }
  // Seals whose range ends within the segment, closed with what the log holds.
  const before = sealsChecked;
  const end = await advanceSeals(`${to}\u0000`);
  sealsAtEnd = sealsChecked - before;
  if (end) return result(end, 'end');
  if (segment.final && digest && (linkTo?.number ?? 0) < digest.sealNumber) {
    return result(
      {
        sealNumber: digest.sealNumber,
        reason: `seal ${digest.sealNumber} of the digest is missing: history before it was deleted`,
      },
      'end',
    );
  }
  return result();
}

/** What a worker thread checking a segment posts (verify-worker.ts). */
export type WorkerMessage =
  | { readonly kind: 'progress'; readonly events: number }
  | { readonly kind: 'done'; readonly result: SegmentResult }
  | { readonly kind: 'failed'; readonly error: string };

/** Checks a segment on two connections of its own (one reads pages ahead, one looks up predecessors). */
export async function verifySegmentAlone(
  connectionString: string,
  segment: Segment,
  progress?: (events: number) => void,
): Promise<SegmentResult> {
  const client = new pg.Client({ connectionString, application_name: 'herald-verify' });
  const lookups = new pg.Client({ connectionString, application_name: 'herald-verify' });
  try {
    await Promise.all([client.connect(), lookups.connect()]);
    return await verifySegment(client, lookups, segment, progress);
  } finally {
    await Promise.allSettled([client.end(), lookups.end()]);
  }
}
