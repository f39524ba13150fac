import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '@herald/event-store';
import { afterEach, describe, expect, it } from 'vitest';
import { Progress, type ActiveInstance } from './progress.js';

const at = (n: number): Checkpoint => encodeCheckpoint(0n, BigInt(n));

/**
 * The active instance as a standby sees it: the checkpoint it stored, and the log the
 * projection reads (positions of the events its filter keeps, up to `head`).
 */
class FakeActive implements ActiveInstance {
  stored = at(0);
  kept: number[] = [];
  head = 0;
  storedReads = 0;
  pageReads = 0;
  unreachable = false;

  storedCheckpoint(): Promise<Checkpoint> {
    this.storedReads++;
    return this.unreachable ? Promise.reject(new Error('connection refused')) : Promise.resolve(this.stored);
  }

  readPage(from: Checkpoint, limit: number) {
    this.pageReads++;
    const events = this.kept
      .filter((n) => at(n) > from)
      .slice(0, limit)
      .map((n) => ({ globalPosition: at(n) }));
    const checkpoint = events.length > 0 ? events[events.length - 1]!.globalPosition : at(this.head);
    return Promise.resolve({ events, checkpoint: checkpoint > from ? checkpoint : from });
  }
}

/** The head moves one log entry per page: a filter that skips everything the log holds. */
class EndlessSkips extends FakeActive {
  override readPage(from: Checkpoint) {
    this.pageReads++;
    return Promise.resolve({ events: [], checkpoint: encodeCheckpoint(0n, decodeCheckpoint(from)[1] + 1n) });
  }
}

const stops: AbortController[] = [];
const progresses: Progress[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) stop.abort();
  await Promise.all(progresses.splice(0).map((p) => p.close()));
});

function started(active: ActiveInstance = new FakeActive(), onWait?: () => void, pollMs = 5): Progress {
  const progress = new Progress(active, pollMs, onWait);
  const stop = new AbortController();
  stops.push(stop);
  progresses.push(progress);
  progress.open(stop.signal);
  return progress;
}

describe('waiting on the active runner', () => {
  it('resolves at once when the checkpoint is already reached', async () => {
    const progress = started();
    progress.activate();
    progress.advance(at(5));
    expect(await progress.waitFor(at(3), 1_000)).toBe(true);
  });

  it('answers false at once when the runner is not started', async () => {
    const progress = new Progress(new FakeActive(), 5);
    const since = Date.now();
    expect(await progress.waitFor(at(1), 5_000)).toBe(false);
    expect(Date.now() - since).toBeLessThan(1_000);
  });

  it("resolves once the runner's own progress reaches the checkpoint", async () => {
    const progress = started();
    progress.activate();
    const waiting = progress.waitFor(at(5), 5_000);
    progress.advance(at(4));
    progress.advance(at(5));
    expect(await waiting).toBe(true);
  });

  it('times out with false when the checkpoint is not reached in time', async () => {
    const progress = started();
    progress.activate();
    progress.advance(at(4));
    expect(await progress.waitFor(at(5), 20)).toBe(false);
  });

  it('ends every wait, unreached, when the runner stops', async () => {
    const progress = new Progress(new FakeActive(), 5);
    progress.open(new AbortController().signal);
    progress.activate();
    const waits = [progress.waitFor(at(5), 60_000), progress.waitFor(at(6), 60_000)];
    await progress.close();
    expect(await Promise.all(waits)).toEqual([false, false]);
  });

  it('never goes back: an older checkpoint does not undo progress', () => {
    const progress = started();
    progress.advance(at(5));
    progress.advance(at(3));
    expect(progress.scanned).toBe(at(5));
  });

  it('tells the batch loop to stop gathering when someone waits for a checkpoint not reached yet', async () => {
    let told = 0;
    const progress = started(new FakeActive(), () => told++);
    progress.activate();
    progress.advance(at(5));
    await progress.waitFor(at(5), 1_000);
    expect(told).toBe(0);
    const waiting = progress.waitFor(at(6), 1_000);
    expect(told).toBe(1);
    expect(progress.hasWaiters).toBe(true);
    progress.advance(at(6));
    await waiting;
    expect(progress.hasWaiters).toBe(false);
  });
});

describe('waiting on a standby', () => {
  it('resolves once the checkpoint the active instance stored reaches the one waited for', async () => {
    const active = new FakeActive();
    active.kept = [1, 2, 3, 4, 5];
    active.head = 5;
    const progress = started(active);
    const waiting = progress.waitFor(at(5), 5_000);
    active.stored = at(5);
    expect(await waiting).toBe(true);
  });

  it('counts events the filter skips: everything before the next event the active instance will apply is as good as applied', async () => {
    const active = new FakeActive();
    active.stored = at(1);
    active.kept = [1, 10];
    active.head = 12;
    const progress = started(active);
    expect(await progress.waitFor(at(7), 5_000)).toBe(true);
    expect(await progress.waitFor(at(10), 30)).toBe(false);
  });

  it('counts the whole log as applied when the filter skips everything after the stored checkpoint', async () => {
    const active = new FakeActive();
    active.stored = at(2);
    active.kept = [2];
    active.head = 9;
    const progress = started(active);
    expect(await progress.waitFor(at(9), 5_000)).toBe(true);
  });

  it('reads the stored checkpoint once per interval, however many wait', async () => {
    const active = new FakeActive();
    active.kept = [1];
    active.head = 1;
    const progress = started(active, undefined, 20);
    await Promise.all(Array.from({ length: 50 }, () => progress.waitFor(at(1), 100)));
    expect(active.storedReads).toBeGreaterThan(0);
    expect(active.storedReads).toBeLessThanOrEqual(7);
  });

  it('looks at most ten pages ahead per read of the stored checkpoint', async () => {
    const active = new EndlessSkips();
    const progress = started(active, undefined, 1_000);
    expect(await progress.waitFor(at(1_000), 50)).toBe(false);
    expect(active.storedReads).toBe(1);
    expect(active.pageReads).toBe(10);
  });

  it('stops reading once nobody waits any more', async () => {
    const active = new FakeActive();
    active.kept = [1];
    active.head = 1;
    const progress = started(active, undefined, 5);
    expect(await progress.waitFor(at(1), 20)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const reads = active.storedReads;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(active.storedReads).toBe(reads);
  });

  it('keeps waiting while the database is unreachable, and times out', async () => {
    const active = new FakeActive();
    active.unreachable = true;
    const progress = started(active);
    expect(await progress.waitFor(at(1), 30)).toBe(false);
    expect(active.storedReads).toBeGreaterThan(1);
  });

  it('follows the stored checkpoint again when the runner stands down', async () => {
    const active = new FakeActive();
    active.stored = at(5);
    active.kept = [1, 2, 3, 4, 5];
    active.head = 5;
    const progress = started(active);
    progress.activate();
    const waiting = progress.waitFor(at(5), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(active.storedReads).toBe(0);
    progress.standDown();
    expect(await waiting).toBe(true);
  });
});

describe('the position', () => {
  it("is the runner's own progress while it is the active one", async () => {
    const active = new FakeActive();
    active.stored = at(9);
    const progress = started(active);
    progress.activate();
    progress.advance(at(4));
    expect(await progress.position()).toBe(at(4));
  });

  it('is the checkpoint the active instance stored on a standby', async () => {
    const active = new FakeActive();
    active.stored = at(9);
    const progress = started(active);
    progress.advance(at(4));
    expect(await progress.position()).toBe(at(9));
  });
});
