import type { EventFilter, RecordedEvent } from '@herald/event-store';
import type { EntityManager } from 'typeorm';

/** What a projection does once the batch it applied is committed. */
export type AfterCommit = () => void;

/**
 * A read model fed by the event log. The runner calls `apply` with a batch of events in
 * checkpoint order inside a transaction that also stores the projection's checkpoint, so
 * each batch takes effect exactly once. `apply` must be deterministic (no clock, no random)
 * so that a rebuild from the start gives the same read model.
 */
export interface Projection {
  /** Unique and versioned, e.g. `timeline.v1`: a new version rebuilds beside the old. */
  readonly name: string;
  /** Only these events are read; default all. */
  readonly filter?: EventFilter;
  /** Events per transaction at most, when this projection wants other than the runner's default. */
  readonly batchSize?: number;
  /**
   * May return work for after the batch's transaction commits (the runner runs it then, and
   * never for a batch that rolled back): for effects outside the database that must not
   * start before the batch is durable, as the notifier handing what it queued to its
   * dispatcher. A rebuild's copy has no such effects: it drops what is returned.
   */
  apply(events: readonly RecordedEvent[], manager: EntityManager): Promise<void | AfterCommit>;
  /**
   * Failures outside the database that will pass (a broker that is unreachable): retried
   * with backoff for as long as they last, never parked. Database errors are judged by
   * the runner itself.
   */
  isTransient?(error: Error): boolean;
}

export type ProjectionState =
  /** Waiting for the lock another instance holds. */
  | 'standby'
  | 'running'
  /** A transient failure (database unreachable): retrying with backoff. */
  | 'retrying'
  /** An event keeps failing: it is parked in the dead-letter table and the projection waits at it. */
  | 'stopped'
  /** This process runs the projection nowhere: another one does (RUN_PROJECTIONS=false); its progress is followed. */
  | 'remote'
  | 'idle';

export interface ParkedEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly eventType: string;
  readonly error: string;
  readonly attempts: number;
}

export interface ProjectionStatus {
  readonly name: string;
  readonly state: ProjectionState;
  /** Everything up to here is applied (or skipped by the filter). */
  readonly checkpoint: string;
  readonly lastError?: string;
  readonly parked?: ParkedEvent;
}
