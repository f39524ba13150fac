/**
 * How a conversation's live event reaches this node's subscribers (ADR 036): at once when
 * they are few, in chunks when they are many, so that a group of 100,000 members (of which
 * thousands online here) neither holds the event loop for its whole fan-out nor makes the
 * pushes of small conversations wait behind it.
 *
 * - A conversation with at most `chunk` subscribers and no fan-out under way gets the event
 *   at once, in the call: small conversations never queue behind a large one.
 * - A larger one gets a fan-out that walks the live set of its subscribers (no copy of it: the
 *   memory of a fan-out is an iterator and the events it carries, whatever the group's size),
 *   `chunk` deliveries per turn of the event loop (`later`, setImmediate), the conversations
 *   with fan-outs under way taking turns. Each walks twice: first delivering to the active
 *   subscribers only (their user acted recently: `active`), then to all. The second pass
 *   repeats the first's deliveries, which the feed drops by seq (conversation-feed.ts), so
 *   that a subscriber who became active between the passes is not skipped by both.
 * - The events of a conversation that arrive while its fan-out is under way wait for it and
 *   go out together in the next one: each subscriber gets them in seq order.
 *
 * A socket that subscribes during a fan-out may be walked past; its catch-up reads the event
 * from the stream (it was appended before it was pushed).
 */

/** What a fan-out needs of the node: its subscriber sets, who is active, and the feeds. */
export interface FanoutPorts<S, E> {
  /** The conversation's subscribers here now: the live set, walked without copying it. */
  subscribers(conversationId: string): ReadonlySet<S> | undefined;
  /** Whether the subscriber's user acted lately (sent, read, typed...). */
  active(subscriber: S, now: number): boolean;
  /** Hands an event to the subscriber's feed, which drops a repeat. */
  deliver(subscriber: S, conversationId: string, event: E): void;
  now(): number;
  /** Runs `work` on a later turn of the event loop (setImmediate), after pending I/O. */
  later(work: () => void): void;
}

/** Deliveries per turn of the event loop: about a millisecond of sends. */
export const FANOUT_CHUNK = 256;

interface Job<S, E> {
  readonly conversationId: string;
  /** The events this walk delivers, in seq order. */
  events: E[];
  /** Those that arrived during it, for the next walk. */
  next: E[];
  activeOnly: boolean;
  walk: Iterator<S>;
}

export class Fanout<S, E> {
  /** Conversations with a fan-out under way, by id; `turns` is the order they take turns in. */
  private readonly jobs = new Map<string, Job<S, E>>();
  private readonly turns: Job<S, E>[] = [];
  private scheduled = false;

  constructor(
    private readonly ports: FanoutPorts<S, E>,
    private readonly chunk = FANOUT_CHUNK,
  ) {}

  /** Fan-outs under way (for tests and metrics). */
  get pending(): number {
    return this.jobs.size;
  }

  /** Whether the conversation has a fan-out under way (its events wait for it). */
  busy(conversationId: string): boolean {
    return this.jobs.has(conversationId);
  }

  /** A live event of the conversation, in log order. */
  live(conversationId: string, event: E): void {
    const job = this.jobs.get(conversationId);
    if (job) {
      job.next.push(event);
      return;
    }
    const subscribers = this.ports.subscribers(conversationId);
    if (!subscribers || subscribers.size === 0) return;
    if (subscribers.size <= this.chunk) {
      for (const subscriber of subscribers) this.ports.deliver(subscriber, conversationId, event);
      return;
    }
    const started: Job<S, E> = {
      conversationId,
      events: [event],
      next: [],
      activeOnly: true,
      walk: subscribers.values(),
    };
    this.jobs.set(conversationId, started);
    this.turns.push(started);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.ports.later(() => this.turn());
  }

  /** One chunk of the fan-out whose turn it is; the others' turns come after it. */
  private turn(): void {
    this.scheduled = false;
    const job = this.turns.shift();
    if (!job) return;
    if (this.step(job)) this.turns.push(job);
    else this.jobs.delete(job.conversationId);
    if (this.turns.length > 0) this.schedule();
  }

  /** Up to `chunk` deliveries (and as many idle subscribers passed over); false once the job is done. */
  private step(job: Job<S, E>): boolean {
    const { ports } = this;
    const now = ports.now();
    let delivered = 0;
    let visited = 0;
    while (delivered < this.chunk && visited < this.chunk * 4) {
      const next = job.walk.next();
      if (next.done) {
        if (job.activeOnly) {
          job.activeOnly = false;
        } else {
          // This walk is done: the events that came meanwhile go in the next one, if any.
          if (job.next.length === 0) return false;
          job.events = job.next;
          job.next = [];
          job.activeOnly = true;
        }
        const subscribers = ports.subscribers(job.conversationId);
        if (!subscribers) return false;
        job.walk = subscribers.values();
        // A new walk takes its own turn: the other fan-outs go first.
        return true;
      }
      visited++;
      const subscriber = next.value;
      if (job.activeOnly && !ports.active(subscriber, now)) continue;
      for (const event of job.events) ports.deliver(subscriber, job.conversationId, event);
      delivered++;
    }
    return true;
  }
}

/** How long after a user's last act their sockets count as active for fan-outs. */
export const ACTIVE_WINDOW_MS = 120_000;

/**
 * When each user with a socket on this node last acted: an event of theirs seen on the log
 * (a message, a read marker, a join...) or a typing or presence frame. A sync is not an act:
 * clients send it on their own at each reconnect. One entry per user with a socket here.
 */
export class Activity {
  private readonly lastAt = new Map<string, number>();

  acted(userId: string, now: number): void {
    this.lastAt.set(userId, now);
  }

  active(userId: string, now: number): boolean {
    const at = this.lastAt.get(userId);
    return at !== undefined && now - at < ACTIVE_WINDOW_MS;
  }

  /** The user has no socket here any more. */
  forget(userId: string): void {
    this.lastAt.delete(userId);
  }
}
