/**
 * Checking hash chains (ADR 030): what `herald verify` reports, the check of one link, and
 * one stream's whole chain through the port (`EventStore.readChain`), the same for every
 * adapter — so `herald verify --stream` and the contract suite prove the chain on
 * PostgreSQL, EventStoreDB and in memory alike. The PostgreSQL log's whole-log pass, with
 * its seals, is postgres/integrity/verify.ts; it checks each link with `recomputeHash`.
 */
import { compareCheckpoints, START, type Checkpoint } from '../checkpoint.js';
import type { ChainedEvent, EventStore, StreamRevision } from '../types.js';
import { LIMITS } from '../validation.js';
import { contentHash, eventHash, IntegrityMismatch, type EventContent } from './event-hash.js';
import type { Digest } from './merkle.js';

export interface VerifyOptions {
  /** Only this stream's chain (no seals). */
  readonly stream?: string;
  /** Events after this checkpoint (widened to the start of its seal). */
  readonly from?: Checkpoint;
  /** Through this checkpoint (widened to the end of its seal); default the head. */
  readonly to?: Checkpoint;
  /** A digest kept earlier: checks the log from its start through this digest's seal, and that seal against it. */
  readonly digest?: Digest;
  /**
   * The PostgreSQL log's whole-range check: how many worker threads check its segments
   * (whole seals) side by side; default the machine's cores; 1 checks in this thread.
   */
  readonly threads?: number;
  /** Called after each page: events checked, and the estimated total when known. */
  readonly onProgress?: (checked: number, total: number | undefined) => void;
}

export interface BrokenLink {
  readonly reason: string;
  readonly streamId?: string;
  readonly revision?: number;
  readonly checkpoint?: string;
  readonly sealNumber?: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  /** Events whose chain link was checked. */
  readonly events: number;
  /** Seals whose root, hash and link were checked. */
  readonly seals: number;
  /** Events checked that no seal covers yet (the newest; the sealer seals them within its interval). */
  readonly unsealed: number;
  readonly from: string;
  readonly to: string;
  /**
   * One stream's check only, when it could not start at revision 0: the store no longer
   * serves the revisions before it (EventStoreDB's retention or soft delete), so the check
   * starts from the predecessor's hash this event records; nothing before it was checked.
   */
  readonly firstRevision?: StreamRevision;
  /** The every-stream check through the port (no seals): streams checked, and how many of them from a later revision (see firstRevision). */
  readonly streams?: number;
  readonly streamsCut?: number;
  readonly broken?: BrokenLink;
}

/** The hash an event should have, from its content as stored and its predecessor's hash; or what makes that content impossible. */
export function recomputeHash(
  streamId: string,
  revision: StreamRevision,
  content: EventContent,
  previous: string | null,
): string | { readonly reason: string } {
  try {
    return eventHash(streamId, revision, contentHash(content), previous);
  } catch (error) {
    if (error instanceof IntegrityMismatch || error instanceof SyntaxError) return { reason: error.message };
    throw error;
  }
}

/** What is wrong with one link of a chain (undefined: nothing), given its predecessor's stored hash. */
export function linkProblem(event: ChainedEvent, previous: string | null): string | undefined {
  if (event.hash === null) return 'the event has no hash';
  if (event.previous !== undefined && event.previous !== previous) {
    return 'the event records another predecessor hash than the event stored before it';
  }
  const expected = recomputeHash(event.streamId, event.streamRevision, event, previous);
  if (typeof expected !== 'string') return `the event was altered: ${expected.reason}`;
  if (expected !== event.hash) {
    return 'the event was altered (its content, place or predecessor differs from what was hashed)';
  }
  return undefined;
}

/**
 * Checks one stream's chain in revision order, a page at a time (constant memory): each
 * event's hash recomputed from its stored content and its predecessor's stored hash. A
 * revision missing in the middle is a deletion. A leading part the store no longer serves
 * (EventStoreDB's retention) is not a break when the first event served records its
 * predecessor's hash: the check starts there and the report says so (`firstRevision`).
 */
export async function verifyStreamChain(
  store: Pick<EventStore, 'readChain'>,
  streamId: string,
  options: Pick<VerifyOptions, 'onProgress'> = {},
): Promise<VerifyReport> {
  let previous: { revision: StreamRevision; hash: string | null } | undefined;
  let firstRevision: StreamRevision | undefined;
  let events = 0;
  const report = (broken?: BrokenLink): VerifyReport => ({
    ok: broken === undefined,
    events,
    seals: 0,
    unsealed: 0,
    from: START,
    to: START,
    ...(firstRevision !== undefined && firstRevision > 0 ? { firstRevision } : {}),
    ...(broken ? { broken } : {}),
  });
  for (;;) {
    const page = await store.readChain(streamId, {
      from: previous ? previous.revision + 1 : 0,
      limit: LIMITS.maxReadCount,
    });
    for (const event of page) {
      const revision = event.streamRevision;
      const where = { streamId, revision, checkpoint: event.globalPosition };
      let predecessor: string | null;
      if (previous) {
        if (revision !== previous.revision + 1) {
          return report({
            streamId,
            revision: previous.revision + 1,
            reason: `revision ${previous.revision + 1} is missing (deleted), the stream goes on at ${revision}`,
          });
        }
        predecessor = previous.hash;
      } else if (revision === 0) {
        predecessor = null;
      } else if (event.previous !== undefined) {
        // The store stopped serving what came before (retention): start from what this event records.
        firstRevision = revision;
        predecessor = event.previous;
      } else {
        return report({
          streamId,
          revision: 0,
          reason: `revision 0 is missing (deleted), the stream goes on at ${revision}`,
        });
      }
      const problem = linkProblem(event, predecessor);
      if (problem) return report({ ...where, reason: problem });
      previous = { revision, hash: event.hash };
      events++;
    }
    options.onProgress?.(events, undefined);
    if (page.length < LIMITS.maxReadCount) return report();
  }
}

/**
 * Every stream's chain through the port, for a store without seals (EventStoreDB): the log
 * is read once in checkpoint order up to the head at the start, and each stream met for the
 * first time is checked whole (`verifyStreamChain`), so every event of the log up to the
 * head is covered by its stream's check. Memory grows with the number of streams (their
 * ids are remembered); without seals, a stream's newest events deleted, or whole streams,
 * are not detected.
 */
export async function verifyEveryChain(
  store: Pick<EventStore, 'readAll' | 'readChain' | 'headCheckpoint'>,
  options: Pick<VerifyOptions, 'onProgress'> = {},
): Promise<VerifyReport> {
  const head = await store.headCheckpoint();
  const checked = new Set<string>();
  let events = 0;
  let streamsCut = 0;
  const report = (broken?: BrokenLink): VerifyReport => ({
    ok: broken === undefined,
    events,
    seals: 0,
    unsealed: 0,
    from: START,
    to: head,
    streams: checked.size,
    streamsCut,
    ...(broken ? { broken } : {}),
  });
  let checkpoint: Checkpoint = START;
  while (compareCheckpoints(checkpoint, head) < 0) {
    const page = await store.readAll({ from: checkpoint, limit: 1_000 });
    for (const event of page.events) {
      if (compareCheckpoints(event.globalPosition, head) > 0) return report();
      if (checked.has(event.streamId)) continue;
      checked.add(event.streamId);
      const stream = await verifyStreamChain(store, event.streamId);
      events += stream.events;
      if (stream.firstRevision !== undefined) streamsCut++;
      if (stream.broken) return report(stream.broken);
    }
    options.onProgress?.(events, undefined);
    if (page.events.length === 0 && page.checkpoint === checkpoint) break;
    checkpoint = page.checkpoint;
  }
  return report();
}
