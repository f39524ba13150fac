/**
 * What one group-commit transaction writes, decided from what it read: for each append of
 * the batch in order, whether it is written (its events' rows and revisions), a retry of
 * events recorded already (by an earlier transaction or earlier in this batch), or refused.
 * No I/O: the batch write (batch-write.ts) reads the facts, runs the insert and commits.
 */
import { encodeCheckpoint } from '../checkpoint.js';
import { isWrongRevision, judgeRetry, wrongRevision, type RecordedPlace } from '../append-rules.js';
import type { AppendResult } from '../types.js';
import type { PendingAppend } from './append-queue.js';
import { eventHash } from '../integrity/event-hash.js';

/** What the group commit decided for one append of a batch. */
export type Outcome =
  /** Written in this batch (or a retry of events written earlier in it): the result is its last row's. */
  | { kind: 'row'; row: number }
  /** A retry of events an earlier transaction recorded. */
  | { kind: 'done'; result: AppendResult }
  | { kind: 'fail'; error: Error };

/** An event id that an earlier transaction recorded (recordedEventsSql). */
export interface RecordedRow {
  event_id: string;
  stream_id: string;
  stream_revision: string;
  tx: string;
  pos: string;
}

/** A stream's revision and newest event's hash as the batch goes: each written append moves them. */
export interface StreamState {
  revision: number;
  /** The newest event's hash (hex); null for a new stream, or one whose newest event has none. */
  hash: string | null;
}

/** The rows to insert, column by column (the insert unnests these arrays). */
export interface BatchRows {
  readonly stream: string[];
  readonly revision: number[];
  readonly id: string[];
  readonly type: string[];
  readonly version: number[];
  readonly data: string[];
  readonly metadata: string[];
  /** Each event's chained hash (hex), null when written without. */
  readonly hash: (string | null)[];
  /** Each event's personal salts (JSON), null when it has none. */
  readonly personal: (string | null)[];
}

export interface WritePlan {
  readonly rows: BatchRows;
  /** One per append of the batch, in its order. */
  readonly outcomes: Outcome[];
}

/** An event id of an append that is already recorded, in the database or this batch. */
interface Found extends RecordedPlace {
  /** Recorded by an earlier transaction. */
  readonly recorded?: RecordedRow;
  /** Written earlier in this batch: its row. */
  readonly row?: number;
}

/**
 * Plans a batch. `streams` holds the revision of every stream of the batch and is moved
 * along as appends are written; `recorded` holds the batch's event ids (lower case) that
 * earlier transactions recorded.
 */
export function planBatch(
  batch: readonly PendingAppend[],
  streams: ReadonlyMap<string, StreamState>,
  recorded: ReadonlyMap<string, RecordedRow>,
): WritePlan {
  const outcomes: Outcome[] = [];
  const rows: BatchRows = {
    stream: [],
    revision: [],
    id: [],
    type: [],
    version: [],
    data: [],
    metadata: [],
    hash: [],
    personal: [],
  };
  // Event ids written earlier in this batch: id -> its row.
  const inBatch = new Map<string, number>();

  for (const pending of batch) {
    const stream = streams.get(pending.streamId)!;
    const ids = pending.events.map((e) => e.event.eventId.toLowerCase());
    // Already recorded (a retry), by an earlier transaction or earlier in this batch.
    const found = ids.map((id): Found | undefined => {
      const row = inBatch.get(id);
      if (row !== undefined) return { streamId: rows.stream[row]!, revision: rows.revision[row]!, row };
      const r = recorded.get(id);
      return r && { streamId: r.stream_id, revision: Number(r.stream_revision), recorded: r };
    });
    if (found.some((f) => f !== undefined)) {
      const retry = judgeRetry(pending.streamId, pending.expected, pending.events, found, stream.revision);
      if (retry instanceof Error) outcomes.push({ kind: 'fail', error: retry });
      else if (retry.recorded) {
        const result = {
          nextExpectedRevision: retry.revision,
          checkpoint: encodeCheckpoint(BigInt(retry.recorded.tx), BigInt(retry.recorded.pos)),
        };
        outcomes.push({ kind: 'done', result });
      } else outcomes.push({ kind: 'row', row: retry.row! });
      continue;
    }
    if (isWrongRevision(pending.expected, stream.revision)) {
      outcomes.push({ kind: 'fail', error: wrongRevision(pending.streamId, pending.expected, stream.revision) });
      continue;
    }
    for (const [i, e] of pending.events.entries()) {
      rows.stream.push(pending.streamId);
      rows.revision.push(stream.revision + 1 + i);
      rows.id.push(ids[i]!);
      rows.type.push(e.event.type);
      rows.version.push(e.event.schemaVersion);
      rows.data.push(e.data);
      inBatch.set(ids[i]!, rows.id.length - 1);
      rows.metadata.push(e.metadata);
      // The chain: this event's hash over its content and its predecessor's hash.
      const hash = e.chain ? eventHash(pending.streamId, stream.revision + 1 + i, e.chain.content, stream.hash) : null;
      rows.hash.push(hash);
      rows.personal.push(e.chain?.personal ?? null);
      stream.hash = hash;
    }
    stream.revision += pending.events.length;
    outcomes.push({ kind: 'row', row: rows.id.length - 1 });
  }
  return { rows, outcomes };
}
