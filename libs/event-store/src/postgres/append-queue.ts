/**
 * Group commit: appends that arrive together share one write transaction (one multi-row
 * insert, one fsync), each still atomic and checked on its own. The queue owns collecting
 * the appends, cutting them into bounded batches in arrival order, sharing them among the
 * transactions that may run at once, and refusing new appends when too much waits.
 * Writing a batch is the writer's (batch-write.ts).
 */
import { EventStoreUnavailable } from '../errors.js';
import type { AppendResult, ExpectedRevision } from '../types.js';
import type { PreparedEvent } from '../integrity/chain.js';

export interface PendingAppend {
  readonly streamId: string;
  readonly events: readonly PreparedEvent[];
  /** Serialized size, for the queue and batch limits. */
  readonly bytes: number;
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Writes one batch. Resolves, once it committed, to the function that settles each of its
 * appends (some may fail on their own: a wrong expected revision); rejects with the error
 * that fails all of them.
 */
export type WriteBatch = (batch: readonly PendingAppend[]) => Promise<() => void>;

export interface AppendQueueLimits {
  /** Batches that may be written at once. */
  readonly maxConcurrentBatches: number;
  /** Events in one batch at most (one append may exceed it alone). */
  readonly maxBatchEvents: number;
  /** Serialized bytes in one batch at most (one append may exceed it alone). */
  readonly maxBatchBytes: number;
  /** Serialized bytes waiting for a batch before new appends are refused. */
  readonly maxQueuedBytes: number;
}

export class AppendQueue {
  private readonly queue: PendingAppend[] = [];
  private queuedBytes = 0;
  private batchesInFlight = 0;
  private drainScheduled = false;

  constructor(
    private readonly write: WriteBatch,
    private readonly limits: AppendQueueLimits,
  ) {}

  /** Nothing waits and no batch is being written. */
  get idle(): boolean {
    return this.queue.length === 0 && this.batchesInFlight === 0;
  }

  /** Queues a validated append; throws EventStoreUnavailable when too much waits already. */
  add(streamId: string, events: readonly PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    let bytes = 0;
    for (const e of events) bytes += e.data.length + e.metadata.length;
    // Back-pressure: when the database cannot keep up, say so rather than queue without bound.
    if (this.queuedBytes + bytes > this.limits.maxQueuedBytes) {
      throw new EventStoreUnavailable('the event store is overloaded (too many appends waiting); retry later');
    }
    this.queuedBytes += bytes;
    return new Promise((resolve, reject) => {
      this.queue.push({ streamId, events, bytes, expected, resolve, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // Let appends issued in the same tick join the batch.
    setImmediate(() => {
      this.drainScheduled = false;
      const { maxConcurrentBatches } = this.limits;
      while (this.queue.length > 0 && this.batchesInFlight < maxConcurrentBatches) {
        // Share what is queued among the free transactions, so batches overlap rather than
        // one batch taking everything while the others sit idle.
        const free = maxConcurrentBatches - this.batchesInFlight;
        const batch = this.takeBatch(Math.ceil(this.queuedEvents() / free));
        this.batchesInFlight++;
        void this.write(batch)
          .then(
            (settle) => settle(),
            (error: unknown) => {
              for (const pending of batch) pending.reject(error);
            },
          )
          .finally(() => {
            this.batchesInFlight--;
            if (this.queue.length > 0) this.scheduleDrain();
          });
      }
    });
  }

  private queuedEvents(): number {
    let events = 0;
    for (const pending of this.queue) events += pending.events.length;
    return events;
  }

  private takeBatch(share: number): PendingAppend[] {
    const limit = Math.min(this.limits.maxBatchEvents, Math.max(1, share));
    const batch: PendingAppend[] = [];
    let events = 0;
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const full = events + next.events.length > limit || bytes + next.bytes > this.limits.maxBatchBytes;
      if (batch.length > 0 && full) break;
      batch.push(this.queue.shift()!);
      events += next.events.length;
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    return batch;
  }
}
