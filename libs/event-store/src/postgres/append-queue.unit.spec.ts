import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { START } from '../checkpoint.js';
import { EventStoreUnavailable } from '../errors.js';
import type { AppendResult } from '../types.js';
import type { SerializedEvent } from '../validation.js';
import { AppendQueue, type AppendQueueLimits, type PendingAppend } from './append-queue.js';

const LIMITS: AppendQueueLimits = {
  maxConcurrentBatches: 1,
  maxBatchEvents: 1_000,
  maxBatchBytes: 1_000_000,
  maxQueuedBytes: 10_000_000,
};

/** `count` events of `bytes` serialized bytes each (data plus metadata). */
function events(count = 1, bytes = 10): SerializedEvent[] {
  return Array.from({ length: count }, () => ({
    event: {
      eventId: randomUUID(),
      type: 'A',
      schemaVersion: 1,
      data: {},
      metadata: { actorId: 'a', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
    },
    data: 'x'.repeat(bytes - 2),
    metadata: '{}',
  }));
}

/**
 * A writer whose batches stay in flight until the test settles them: `commit` resolves each
 * append of the oldest open batch with its stream id as the result's revision marker,
 * `fail` rejects the batch.
 */
function fakeWriter(): {
  batches: PendingAppend[][];
  open: { batch: PendingAppend[]; commit: () => void; fail: (error: Error) => void }[];
  write: (batch: readonly PendingAppend[]) => Promise<() => void>;
} {
  const fake = {
    batches: [] as PendingAppend[][],
    open: [] as { batch: PendingAppend[]; commit: () => void; fail: (error: Error) => void }[],
    write: (batch: readonly PendingAppend[]): Promise<() => void> =>
      new Promise((resolve, reject) => {
        fake.batches.push([...batch]);
        const entry = {
          batch: [...batch],
          commit: () => {
            fake.open.splice(fake.open.indexOf(entry), 1);
            resolve(() => {
              for (const [i, pending] of batch.entries()) pending.resolve(result(i));
            });
          },
          fail: (error: Error) => {
            fake.open.splice(fake.open.indexOf(entry), 1);
            reject(error);
          },
        };
        fake.open.push(entry);
      }),
  };
  return fake;
}

const result = (revision: number): AppendResult => ({ nextExpectedRevision: revision, checkpoint: START });

/** Lets the queue's drain (setImmediate) and the settling promises run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const streamsOf = (batches: PendingAppend[][]): string[][] => batches.map((b) => b.map((p) => p.streamId));

describe('AppendQueue', () => {
  it('puts appends made in the same tick into one batch', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, LIMITS);
    const results = ['s-1', 's-2', 's-3'].map((s) => queue.add(s, events(), 'any'));
    await tick();
    expect(streamsOf(writer.batches)).toEqual([['s-1', 's-2', 's-3']]);
    writer.open[0]!.commit();
    await expect(Promise.all(results)).resolves.toEqual([result(0), result(1), result(2)]);
  });

  it('hands appends to the writer in the order they were made, one stream after another', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, LIMITS);
    const first = ['s-1', 't-1', 's-1'].map((s) => queue.add(s, events(), 'any'));
    await tick();
    const second = ['s-1', 't-1'].map((s) => queue.add(s, events(), 'any'));
    await tick();
    expect(writer.batches).toHaveLength(1); // one transaction at a time: the rest waits
    writer.open[0]!.commit();
    await Promise.all(first);
    await tick();
    writer.open[0]!.commit();
    await Promise.all(second);
    expect(streamsOf(writer.batches)).toEqual([
      ['s-1', 't-1', 's-1'],
      ['s-1', 't-1'],
    ]);
  });

  it('shares what is queued among the free transactions rather than giving one all of it', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxConcurrentBatches: 3 });
    for (let i = 0; i < 30; i++) void queue.add(`s-${i}`, events(), 'any');
    await tick();
    expect(writer.batches.map((b) => b.length)).toEqual([10, 10, 10]);
    expect(writer.open).toHaveLength(3);
  });

  it('never writes more batches at once than allowed, and starts the next when one ends', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxConcurrentBatches: 2, maxBatchEvents: 1 });
    for (let i = 0; i < 5; i++) void queue.add(`s-${i}`, events(), 'any');
    await tick();
    expect(writer.open).toHaveLength(2);
    writer.open[0]!.commit();
    await tick();
    await tick();
    expect(writer.open).toHaveLength(2);
    expect(writer.batches).toHaveLength(3);
  });

  it('bounds a batch by its number of events', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxBatchEvents: 4 });
    for (let i = 0; i < 5; i++) void queue.add(`s-${i}`, events(2), 'any');
    await tick();
    writer.open[0]!.commit();
    await tick();
    await tick();
    writer.open[0]!.commit();
    await tick();
    await tick();
    expect(writer.batches.map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('bounds a batch by its serialized bytes', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxBatchBytes: 250 });
    for (let i = 0; i < 3; i++) void queue.add(`s-${i}`, events(1, 100), 'any');
    await tick();
    expect(writer.batches.map((b) => b.length)).toEqual([2]);
  });

  it('writes an append larger than the batch limits alone rather than never', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxBatchEvents: 4 });
    const big = queue.add('big-1', events(9), 'any');
    void queue.add('small-1', events(), 'any');
    await tick();
    expect(streamsOf(writer.batches)).toEqual([['big-1']]);
    writer.open[0]!.commit();
    await expect(big).resolves.toEqual(result(0));
  });

  it("fails a batch's appends with its error, and only that batch's", async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxConcurrentBatches: 2 });
    const all = ['a-1', 'b-1', 'c-1', 'd-1'].map((s) => queue.add(s, events(), 'any'));
    await tick();
    expect(streamsOf(writer.batches)).toEqual([
      ['a-1', 'b-1'],
      ['c-1', 'd-1'],
    ]);
    const failure = new Error('the batch failed');
    writer.open[0]!.fail(failure);
    writer.open[0]!.commit();
    const settled = await Promise.allSettled(all);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled']);
    expect(settled[0]).toEqual({ status: 'rejected', reason: failure });
    expect(settled[1]).toEqual({ status: 'rejected', reason: failure });
  });

  it('settles no append before its batch was written', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, LIMITS);
    let settled = false;
    void queue.add('s-1', events(), 'any').then(() => (settled = true));
    await tick();
    await tick();
    expect(settled).toBe(false);
    writer.open[0]!.commit();
    await tick();
    expect(settled).toBe(true);
  });

  it('refuses appends with EventStoreUnavailable while too many bytes wait, and takes them again once written', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, { ...LIMITS, maxQueuedBytes: 250 });
    void queue.add('s-1', events(1, 100), 'any');
    void queue.add('s-2', events(1, 100), 'any');
    expect(() => queue.add('s-3', events(1, 100), 'any')).toThrow(EventStoreUnavailable);
    await tick(); // taken into a batch: no longer waiting
    expect(() => queue.add('s-3', events(1, 100), 'any')).not.toThrow();
  });

  it('is idle only once nothing waits and no batch is being written', async () => {
    const writer = fakeWriter();
    const queue = new AppendQueue(writer.write, LIMITS);
    expect(queue.idle).toBe(true);
    const appended = queue.add('s-1', events(), 'any');
    expect(queue.idle).toBe(false);
    await tick();
    expect(queue.idle).toBe(false);
    writer.open[0]!.commit();
    await appended;
    await tick();
    expect(queue.idle).toBe(true);
  });
});
