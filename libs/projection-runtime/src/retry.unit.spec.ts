import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type RecordedEvent } from '@herald/event-store';
import { testEvent } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { LostLock } from './lock.js';
import { applyOrPark, attemptBatch, backoff, isTransient, type Attempted, type RetryPolicy } from './retry.js';

const at = (n: number): Checkpoint => encodeCheckpoint(0n, BigInt(n));

function recorded(n: number): RecordedEvent {
  return {
    ...testEvent('Counted'),
    streamId: 's-1',
    streamRevision: n,
    globalPosition: at(n),
    recordedAt: new Date(0),
  };
}

function pgError(code: string): Error {
  return Object.assign(new Error(`pg ${code}`), { code });
}

const policy: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 };
const running = (): AbortSignal => new AbortController().signal;
const quiet = { failed: (): void => undefined, retrying: (): void => undefined };
const never = (): boolean => false;

/** An apply that fails with these errors, one per call, then succeeds. */
function failing(...errors: Error[]): { apply: () => Promise<void>; calls: () => number } {
  let calls = 0;
  return {
    apply: () => {
      const error = errors[calls++];
      return error === undefined ? Promise.resolve() : Promise.reject(error);
    },
    calls: () => calls,
  };
}

describe('backoff', () => {
  const slow: RetryPolicy = { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 1_000 };

  it('the first backoff lies between half and all of the initial backoff', () => {
    expect(backoff(1, slow, () => 0)).toBe(50);
    expect(backoff(1, slow, () => 1)).toBe(100);
  });

  it('doubles with each attempt', () => {
    expect(backoff(3, slow, () => 1)).toBe(400);
  });

  it('never exceeds the maximum backoff, however many attempts failed', () => {
    expect(backoff(60, slow, () => 1)).toBe(1_000);
  });
});

describe('which failures pass', () => {
  const plain = {};

  it('a lost connection is transient', () => {
    expect(isTransient(pgError('08006'), plain)).toBe(true);
  });

  it('a deadlock is transient', () => {
    expect(isTransient(pgError('40P01'), plain)).toBe(true);
  });

  it('a failure the projection calls transient is transient', () => {
    expect(isTransient(new Error('broker unreachable'), { isTransient: (e) => e.message.includes('broker') })).toBe(
      true,
    );
  });

  it('any other failure is not transient', () => {
    expect(isTransient(new Error('bad row'), { isTransient: () => false })).toBe(false);
  });
});

describe('attempting a batch', () => {
  it('applies a batch that succeeds at the first attempt', async () => {
    const apply = failing();
    expect(await attemptBatch(apply.apply, policy, never, running(), quiet)).toBe('applied');
    expect(apply.calls()).toBe(1);
  });

  it('retries a transient failure past the attempt limit until it passes', async () => {
    const errors = Array.from({ length: 5 }, () => pgError('40P01'));
    const apply = failing(...errors);
    const transient = (e: Error): boolean => isTransient(e, {});
    expect(await attemptBatch(apply.apply, policy, transient, running(), quiet)).toBe('applied');
    expect(apply.calls()).toBe(6);
  });

  it('gives up on a lasting failure after the attempt limit and returns its last error', async () => {
    const apply = failing(new Error('one'), new Error('two'), new Error('three'), new Error('four'));
    const result = await attemptBatch(apply.apply, policy, never, running(), quiet);
    expect(result).toEqual(new Error('three'));
    expect(apply.calls()).toBe(3);
  });

  it('wraps a thrown value that is not an Error', async () => {
    // A projection's dependency may throw anything; the runner records and parks an Error.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const apply = (): Promise<void> => Promise.reject('text');
    expect(await attemptBatch(apply, policy, never, running(), quiet)).toEqual(new Error('text'));
  });

  it('lets a lost lock go up at once, without retrying', async () => {
    const apply = failing(new LostLock('p'));
    await expect(attemptBatch(apply.apply, policy, never, running(), quiet)).rejects.toThrow(LostLock);
    expect(apply.calls()).toBe(1);
  });

  it('answers stopped, not an error, when the runner stopped while the batch failed', async () => {
    const stop = new AbortController();
    const apply = (): Promise<void> => {
      stop.abort();
      return Promise.reject(new Error('connection closed by the shutdown'));
    };
    expect(await attemptBatch(apply, policy, never, stop.signal, quiet)).toBe('stopped');
  });

  it('answers stopped when the runner stops while it backs off', async () => {
    const stop = new AbortController();
    const hooks = { failed: (): void => undefined, retrying: (): void => stop.abort() };
    const slow = { ...policy, initialBackoffMs: 60_000, maxBackoffMs: 60_000 };
    expect(await attemptBatch(failing(new Error('x')).apply, slow, never, stop.signal, hooks)).toBe('stopped');
  });

  it('reports every failure, and every retry with its attempt number and whether it passes', async () => {
    const seen: string[] = [];
    const hooks = {
      failed: (e: Error): void => void seen.push(`failed ${e.message}`),
      retrying: (_e: Error, attempt: number, transient: boolean): void =>
        void seen.push(`retry ${attempt} ${transient}`),
    };
    await attemptBatch(failing(new Error('a'), new Error('b'), new Error('c')).apply, policy, never, running(), hooks);
    expect(seen).toEqual(['failed a', 'retry 1 false', 'failed b', 'retry 2 false', 'failed c']);
  });
});

describe('applying a page or parking the event that fails', () => {
  /** Steps whose attempt fails for the events in `bad` (and for every batch holding one). */
  function steps(
    bad: readonly number[],
    outcome: (events: readonly RecordedEvent[]) => Attempted | undefined = () => undefined,
  ) {
    const log: string[] = [];
    return {
      log,
      steps: {
        attempt: (events: readonly RecordedEvent[], checkpoint: Checkpoint): Promise<Attempted> => {
          log.push(`attempt [${events.map((e) => e.streamRevision).join(',')}] to ${decodeCheckpoint(checkpoint)[1]}`);
          const forced = outcome(events);
          if (forced) return Promise.resolve(forced);
          const fails = events.some((e) => bad.includes(e.streamRevision));
          return Promise.resolve(fails ? new Error('bad event') : 'applied');
        },
        park: (event: RecordedEvent, error: Error): Promise<void> => {
          log.push(`park ${event.streamRevision}: ${error.message}`);
          return Promise.resolve();
        },
        applied: (event: RecordedEvent): void => void log.push(`applied ${event.streamRevision}`),
      },
    };
  }

  const page = [recorded(1), recorded(2), recorded(3)];

  it('applies a page that succeeds in one go and parks nothing', async () => {
    const { log, steps: s } = steps([]);
    expect(await applyOrPark(page, at(5), s)).toBe(false);
    expect(log).toEqual(['attempt [1,2,3] to 5']);
  });

  it('parks the event of a one-event page that keeps failing', async () => {
    const { log, steps: s } = steps([2]);
    expect(await applyOrPark([recorded(2)], at(2), s)).toBe(true);
    expect(log).toEqual(['attempt [2] to 2', 'park 2: bad event']);
  });

  it('splits a failing page: the events before the failing one are applied, that one is parked, the rest wait', async () => {
    const { log, steps: s } = steps([2]);
    expect(await applyOrPark(page, at(5), s)).toBe(true);
    expect(log).toEqual([
      'attempt [1,2,3] to 5',
      'attempt [1] to 1',
      'applied 1',
      'attempt [2] to 2',
      'park 2: bad event',
    ]);
  });

  it('applies event by event a page that failed only as a whole, then stores the page checkpoint', async () => {
    const { log, steps: s } = steps([], (events) => (events.length === 3 ? new Error('fluke') : undefined));
    expect(await applyOrPark(page, at(5), s)).toBe(false);
    expect(log).toEqual([
      'attempt [1,2,3] to 5',
      'attempt [1] to 1',
      'applied 1',
      'attempt [2] to 2',
      'applied 2',
      'attempt [3] to 3',
      'applied 3',
      'attempt [] to 5',
    ]);
  });

  it('parks nothing when the runner stops while the page is applied', async () => {
    const { log, steps: s } = steps([], () => 'stopped');
    expect(await applyOrPark(page, at(5), s)).toBe(false);
    expect(log).toEqual(['attempt [1,2,3] to 5']);
  });

  it('parks nothing when the runner stops while a split page is applied event by event', async () => {
    const { log, steps: s } = steps([], (events) => (events.length === 3 ? new Error('x') : 'stopped'));
    expect(await applyOrPark(page, at(5), s)).toBe(false);
    expect(log).toEqual(['attempt [1,2,3] to 5', 'attempt [1] to 1']);
  });

  it('lets a failure to store the checkpoint after a split go up to the runner', async () => {
    const { steps: s } = steps([], (events) =>
      events.length !== 1 ? new Error('checkpoint write failed') : undefined,
    );
    await expect(applyOrPark(page, at(5), s)).rejects.toThrow('checkpoint write failed');
  });
});

describe('a batch whose statements time out', () => {
  const timeout = (): Error => new Error('Query read timeout');
  const transientPg = (error: Error): boolean => isTransient(error, {});

  it('is given up after maxAttempts when it holds several events, to be applied one by one', async () => {
    const batch = failing(timeout(), timeout(), timeout(), timeout());
    const result = await attemptBatch(batch.apply, policy, transientPg, running(), quiet, true);
    expect(result).toBeInstanceOf(Error);
    expect(batch.calls()).toBe(policy.maxAttempts);
  });

  it('passes for a single event, however long it lasts (a paused server)', async () => {
    const single = failing(timeout(), timeout(), timeout(), timeout(), timeout());
    expect(await attemptBatch(single.apply, policy, transientPg, running(), quiet, false)).toBe('applied');
    expect(single.calls()).toBe(6);
  });

  it('a server-side cancel (57014) counts as a timeout too', async () => {
    const batch = failing(pgError('57014'), pgError('57014'), pgError('57014'));
    expect(await attemptBatch(batch.apply, policy, transientPg, running(), quiet, true)).toBeInstanceOf(Error);
  });
});
