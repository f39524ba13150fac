/**
 * What the runner does with a batch that fails: which failures pass (retried with backoff
 * for as long as they last), how long to back off, and how a batch that keeps failing is
 * split to find the one event to park, so that nothing is skipped silently.
 */
import { isStatementTimeout, isTransientPgError } from '@herald/database';
import type { Checkpoint, RecordedEvent } from '@herald/event-store';
import { LostLock } from './lock.js';
import type { Projection } from './projection.js';
import { sleep } from './sleep.js';

export interface RetryPolicy {
  /** Attempts for a failing batch or event before it is split or parked. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** The outcome of applying a batch: given up with the last error, or stopped meanwhile. */
export type Attempted = 'applied' | 'stopped' | Error;

/** Lost connections and deadlocks pass; so do failures the projection calls transient. */
export function isTransient(error: Error, projection: Pick<Projection, 'isTransient'>): boolean {
  return isTransientPgError(error) || projection.isTransient?.(error) === true;
}

/**
 * Exponential from `initialBackoffMs`, capped at `maxBackoffMs`, with jitter in its upper
 * half so that instances failing together do not retry together.
 */
export function backoff(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return base / 2 + random() * (base / 2);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export interface AttemptHooks {
  /** Every failure, the last one included. */
  failed(error: Error): void;
  /** Before backing off for another attempt. */
  retrying(error: Error, attempt: number, transient: boolean): void;
}

/**
 * Applies a batch, retrying transient errors without limit and others up to
 * `maxAttempts`. Returns the last error when it gave up; `stopped` when the runner was
 * stopped meanwhile (then nothing may be parked: the failure may be the shutdown's).
 * A lost lock is not the batch's fault: it goes up to the runner, which stands down.
 *
 * A statement timeout passes for a single event (a paused server: wait it out) but not for
 * a `splittable` batch of several: its statements may simply be too big for the bound (a
 * thousand 16 KiB messages indexed at once), and retrying the same batch would fail the
 * same way for good. Given up, it is applied event by event (`applyOrPark`).
 */
export async function attemptBatch(
  apply: () => Promise<void>,
  policy: RetryPolicy,
  transient: (error: Error) => boolean,
  signal: AbortSignal,
  hooks: AttemptHooks,
  splittable = false,
): Promise<Attempted> {
  for (let attempt = 1; ; attempt++) {
    try {
      await apply();
      return 'applied';
    } catch (error) {
      if (error instanceof LostLock) throw error;
      if (signal.aborted) return 'stopped';
      const err = error instanceof Error ? error : new Error(String(error));
      hooks.failed(err);
      const passes = transient(err) && !(splittable && isStatementTimeout(err));
      if (!passes && attempt >= policy.maxAttempts) return err;
      hooks.retrying(err, attempt, passes);
      if (await sleep(backoff(attempt, policy), signal)) return 'stopped';
    }
  }
}

export interface BatchSteps {
  /** Applies events up to the checkpoint, with retries (`attemptBatch`). */
  attempt(events: readonly RecordedEvent[], checkpoint: Checkpoint): Promise<Attempted>;
  /** Parks the event that keeps failing. */
  park(event: RecordedEvent, error: Error): Promise<void>;
  /** One event of a split batch was applied. */
  applied(event: RecordedEvent): void;
}

/**
 * Applies a page of events; returns true when an event was parked (the projection stops
 * at it). A batch that keeps failing is applied event by event: everything before the
 * failing event is applied, that event is parked.
 */
export async function applyOrPark(
  events: readonly RecordedEvent[],
  checkpoint: Checkpoint,
  steps: BatchSteps,
): Promise<boolean> {
  const result = await steps.attempt(events, checkpoint);
  if (result === 'applied' || result === 'stopped') return false;
  if (events.length === 1) {
    await steps.park(events[0]!, result);
    return true;
  }
  for (const event of events) {
    const single = await steps.attempt([event], event.globalPosition);
    if (single === 'stopped') return false;
    if (single !== 'applied') {
      await steps.park(event, single);
      return true;
    }
    steps.applied(event);
  }
  // Every event applied alone (the batch failure was a fluke): store the page's checkpoint.
  const rest = await steps.attempt([], checkpoint);
  if (rest instanceof Error) throw rest;
  return false;
}
