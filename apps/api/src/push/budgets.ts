/**
 * What the push gateway's work may cost: catch-up bytes per second per socket and per user
 * (token buckets that may go into debt, and make the next page wait until paid), and
 * bounds on work in flight per process, granted round-robin across users (or client IPs)
 * so that one's many requests cannot keep another's waiting behind them: the reads a sync
 * makes (membership, catch-up pages: one gate), and the handshakes being authenticated
 * (another gate, whose line is bounded too: a reconnect storm waits in it, or past it is
 * told to come back). Plain TypeScript, no I/O: the clock comes in with each call.
 */

/**
 * A byte budget: `rate` bytes a second, up to `burst` saved. What was sent is charged after
 * the fact (a page's size is known once read), so the balance may go below zero: the wait
 * is then how long until it is back to zero.
 */
export class ByteBudget {
  private balance: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.balance = burst;
    this.at = now;
  }

  charge(bytes: number, now: number): void {
    this.refill(now);
    this.balance -= bytes;
  }

  /** Milliseconds until the budget is no longer in debt (0: spend now). */
  waitMs(now: number): number {
    this.refill(now);
    return this.balance >= 0 ? 0 : Math.ceil((-this.balance / this.rate) * 1000);
  }

  private refill(now: number): void {
    this.balance = Math.min(this.burst, this.balance + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }
}

/**
 * At most `slots` holders at a time; waiters are served one key (user, or client IP) at a
 * time in turn (each key's waiters in order), so a user queueing a hundred reads delays
 * another user's by one read at most, not a hundred. At most `maxWaiting` wait (then
 * `tryAcquire` refuses): what a line costs is bounded by it.
 */
export class FairGate {
  private busy = 0;
  private count = 0;
  /** Waiters by key, keys in the order they are served next. */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    private readonly slots: number,
    private readonly maxWaiting = Number.POSITIVE_INFINITY,
  ) {}

  /** Resolves with the release function once a slot is held (waits however long the line is). */
  async acquire(key: string): Promise<() => void> {
    if (this.busy < this.slots && this.waiting.size === 0) {
      this.busy++;
      return this.releaser();
    }
    await new Promise<void>((resolve) => {
      this.count++;
      const queue = this.waiting.get(key);
      if (queue) queue.push(resolve);
      else this.waiting.set(key, [resolve]);
    });
    return this.releaser();
  }

  /** As `acquire`, or undefined (nothing held, nothing queued) when `maxWaiting` wait already. */
  tryAcquire(key: string): Promise<() => void> | undefined {
    if (this.busy >= this.slots && this.count >= this.maxWaiting) return undefined;
    return this.acquire(key);
  }

  /** Holders now. */
  get held(): number {
    return this.busy;
  }

  /** Waiting for a slot. */
  get queued(): number {
    return this.count;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.busy--;
      this.next();
    };
  }

  private next(): void {
    const first = this.waiting.entries().next();
    if (first.done) return;
    const [key, queue] = first.value;
    const resolve = queue.shift()!;
    // The key goes to the back of the line: the others are served before its next one.
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    this.count--;
    this.busy++;
    resolve();
  }
}
