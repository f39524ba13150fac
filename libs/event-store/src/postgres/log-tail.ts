/**
 * The newest stretch of the global log, read once for every subscriber of one event store
 * instance. A node runs several followers (each projection, the relay, the live push);
 * without this each would read every new event from PostgreSQL itself. Subscribers whose
 * checkpoint lies within the tail take their pages from memory, filtered here; one read at
 * a time extends the tail for all of them. A subscriber behind the tail reads on its own
 * until it catches up. The tail holds at most `maxEvents` events, the oldest going first,
 * and is dropped when nobody follows it.
 */
import type { Checkpoint } from '../checkpoint.js';
import { matches } from '../event-filter.js';
import type { EventFilter, ReadAllPage, RecordedEvent } from '../types.js';

/** What one read of the log after the tail's end found. */
export interface TailRead {
  readonly page: ReadAllPage;
  /** Committed events wait behind a transaction still running. */
  readonly held: boolean;
  /** The read reached the visibility horizon: a subscriber at the end should wait. */
  readonly caughtUp: boolean;
}

/** How the newest read left the tail, for the subscribers that reach its end. */
export interface TailEnd {
  readonly held: boolean;
  readonly caughtUp: boolean;
  /** The notifier's generation just before the read: a notification after it means more. */
  readonly generation: number;
}

/** One subscriber's position. */
export interface Cursor {
  from: Checkpoint;
}

export interface Taken {
  readonly page: ReadAllPage;
  /** The page ends at the tail's end: nothing more is in memory. */
  readonly atEnd: boolean;
}

/**
 * Where a cursor stands: within the tail (take from it), ahead of it while others are
 * within (extend it), or behind it (read on its own).
 */
export type Place = 'inside' | 'ahead' | 'behind';

export class LogTail {
  /** Events after `start` up to `end`, in log order (no filter). */
  private events: RecordedEvent[] = [];
  private start: Checkpoint | undefined;
  private end: Checkpoint | undefined;
  private reading: Promise<TailEnd> | undefined;
  private lastEnd: TailEnd | undefined;
  /** When the newest read began (Date.now()). */
  private lastReadAt = 0;
  private readonly cursors = new Set<Cursor>();

  constructor(
    private readonly read: (from: Checkpoint) => Promise<TailRead>,
    private readonly generation: () => number,
    private readonly maxEvents: number,
  ) {}

  /** How the newest read left the tail (undefined before the first). */
  get state(): TailEnd | undefined {
    return this.lastEnd;
  }

  follow(cursor: Cursor): void {
    this.cursors.add(cursor);
  }

  leave(cursor: Cursor): void {
    this.cursors.delete(cursor);
    if (this.cursors.size === 0 && !this.reading) this.reset(undefined);
  }

  /**
   * Where `cursor` stands. A cursor that `caughtUp` on its own starts the tail at its
   * checkpoint when nobody else is within the tail (or there is none yet).
   */
  place(cursor: Cursor, caughtUp = false): Place {
    const { from } = cursor;
    if (this.start !== undefined && this.end !== undefined) {
      if (from >= this.start && from <= this.end) return 'inside';
      if (from < this.start) return 'behind';
      if (this.reading || this.someoneInside(cursor)) return 'ahead';
    }
    if (!caughtUp || this.reading) return 'behind';
    this.reset(from);
    return 'inside';
  }

  /** The events after the cursor that pass the filter, at most `limit`; the cursor must be inside. */
  take(cursor: Cursor, limit: number, filter: EventFilter | undefined): Taken {
    const events: RecordedEvent[] = [];
    for (let i = this.firstAfter(cursor.from); i < this.events.length; i++) {
      const event = this.events[i]!;
      if (!matches(event, filter)) continue;
      events.push(event);
      if (events.length === limit) {
        return { page: { events, checkpoint: event.globalPosition }, atEnd: i === this.events.length - 1 };
      }
    }
    return { page: { events, checkpoint: this.end! }, atEnd: true };
  }

  /**
   * Reads the log after the tail's end: one read at a time, shared by all who ask meanwhile.
   * With `unlessWithinMs` (a subscriber whose wait for news ran out: it polls), no read
   * when the newest one reached the horizon with nothing held, began less than that long
   * ago and no notification came since: each subscriber's poll timer runs on its own, and
   * the tail is read once per poll interval, not once per subscriber.
   */
  extend(unlessWithinMs = 0, now = Date.now()): Promise<TailEnd> {
    const last = this.lastEnd;
    if (
      !this.reading &&
      last?.caughtUp &&
      !last.held &&
      last.generation === this.generation() &&
      now - this.lastReadAt < unlessWithinMs
    ) {
      return Promise.resolve(last);
    }
    this.reading ??= this.readNext().finally(() => {
      this.reading = undefined;
      if (this.cursors.size === 0) this.reset(undefined);
    });
    return this.reading;
  }

  private async readNext(): Promise<TailEnd> {
    const from = this.end!;
    const generation = this.generation();
    this.lastReadAt = Date.now();
    const { page, held, caughtUp } = await this.read(from);
    this.events.push(...page.events);
    if (page.checkpoint > from) this.end = page.checkpoint;
    const excess = this.events.length - this.maxEvents;
    if (excess > 0) {
      this.start = this.events[excess - 1]!.globalPosition;
      this.events.splice(0, excess);
    }
    this.lastEnd = { held, caughtUp, generation };
    return this.lastEnd;
  }

  private someoneInside(except: Cursor): boolean {
    for (const cursor of this.cursors) {
      if (cursor !== except && cursor.from >= this.start! && cursor.from <= this.end!) return true;
    }
    return false;
  }

  private reset(at: Checkpoint | undefined): void {
    this.events = [];
    this.start = this.end = at;
    this.lastEnd = undefined;
  }

  /** The index of the first event after `from` (binary search: positions only grow). */
  private firstAfter(from: Checkpoint): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.events[mid]!.globalPosition <= from) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
