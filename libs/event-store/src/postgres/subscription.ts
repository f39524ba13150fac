/**
 * Following the global log (`subscribeToAll`): the loop that catches a subscriber up and
 * then waits for news. Subscribers within the shared tail of the log take their pages from
 * it (log-tail.ts); one behind it reads on its own, with its filter, until it catches up. A
 * subscriber at the end waits for a notification, or looks again soon when committed events
 * wait behind a running transaction, and by polling when notifications are lost.
 */
import { START } from '../checkpoint.js';
import type { ReadAllOptions, ReadAllPage, SubscribeOptions } from '../types.js';
import { readLimit } from '../validation.js';
import { LogTail, type Cursor, type TailRead } from './log-tail.js';

/**
 * Events the shared tail of the log keeps for this instance's subscribers: about 1 KB each
 * typically, 20 KB at most (a 16 KiB message), so 10 MB typically and 200 MB at worst.
 * Under overload the projections fall seconds behind the head: a tail of 4,000 lost them
 * (bench:chat at saturation fell run after run, 2,444 → 1,936 sends/s; 10,000 held 2,432).
 */
const TAIL_EVENTS = 10_000;

/** Events one read of the tail fetches at most. */
const TAIL_PAGE = 1_000;

/** How soon a follower first looks again when committed events wait behind a running transaction. */
export const HELD_RECHECK_MS = 5;

/** News of commits (the Notifier): a counter of notifications, and a wait for the next. */
export interface Wakeups {
  readonly generation: number;
  /** Resolves on a notification after `since`, after `timeoutMs`, or when `signal` aborts. */
  wait(timeoutMs: number, signal: AbortSignal | undefined, since: number): Promise<void>;
}

export interface SubscriptionSource {
  /** A page of the log (LogReader.readPage). */
  readonly readPage: (options: ReadAllOptions) => Promise<TailRead>;
  readonly wakeups: Wakeups;
  /** How often an idle subscriber looks for events when no notification came. */
  readonly pollIntervalMs: number;
  /** The store was closed: subscriptions end. */
  readonly closed: () => boolean;
}

/** The subscriptions of one event store instance, sharing one tail of the log. */
export class Subscriptions {
  private readonly tail: LogTail;

  constructor(private readonly source: SubscriptionSource) {
    this.tail = new LogTail(
      (from) => source.readPage({ from, limit: TAIL_PAGE }),
      () => source.wakeups.generation,
      TAIL_EVENTS,
    );
  }

  async *follow(options: SubscribeOptions = {}): AsyncIterable<ReadAllPage> {
    const { readPage, wakeups, pollIntervalMs, closed } = this.source;
    const tail = this.tail;
    const limit = readLimit(options.limit);
    const { signal, filter } = options;
    const cursor: Cursor = { from: options.from ?? START };
    let heldWait = 0;
    // Waits for news after a read that reached the horizon: at the next notification, or
    // soon when committed events wait behind a transaction still running (any writer's, a
    // projection's), backing off while that transaction lasts.
    const waitForNews = (held: boolean, since: number): Promise<void> => {
      heldWait = held ? Math.min(pollIntervalMs, heldWait === 0 ? HELD_RECHECK_MS : heldWait * 2) : 0;
      return wakeups.wait(held ? heldWait : pollIntervalMs, signal, since);
    };
    tail.follow(cursor);
    try {
      while (!signal?.aborted && !closed()) {
        const place = tail.place(cursor);
        if (place === 'inside') {
          const { page, atEnd } = tail.take(cursor, limit, filter);
          if (page.events.length > 0 || page.checkpoint !== cursor.from) {
            cursor.from = page.checkpoint;
            yield page;
          }
          if (!atEnd) continue;
          const end = tail.state;
          if (end?.caughtUp) await waitForNews(end.held, end.generation);
          // A poll (no news came) shares the newest read of the tail if it is recent enough.
          if (!signal?.aborted && !closed()) await tail.extend(end?.caughtUp && !end.held ? pollIntervalMs : 0);
        } else if (place === 'ahead') {
          await tail.extend();
        } else {
          // A notification that arrives while we read is not lost: the wait below sees it.
          const notified = wakeups.generation;
          const { page, held, caughtUp } = await readPage({
            from: cursor.from,
            limit,
            ...(filter ? { filter } : {}),
          });
          if (page.events.length > 0 || page.checkpoint !== cursor.from) {
            cursor.from = page.checkpoint;
            yield page;
          }
          if (caughtUp && tail.place(cursor, true) === 'behind') await waitForNews(held, notified);
        }
      }
    } finally {
      tail.leave(cursor);
    }
  }
}
