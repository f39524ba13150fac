/**
 * What the push gateway's catch-ups may cost: bytes per second per socket and per user
 * (token buckets that may go into debt, and make the next page wait until paid), and a
 * bound on catch-up reads in flight per process, granted round-robin across users so that
 * one user's many catch-ups cannot keep another's waiting behind them. Plain TypeScript,
 * no I/O: the clock comes in with each call.
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
 * At most `slots` holders at a time; waiters are served one user at a time in turn (each
 * user's waiters in order), so a user queueing a hundred reads delays another user's by
 * one read at most, not a hundred.
 */
export class FairGate {
  private busy = 0;
  /** Waiters by user, users in the order they are served next. */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(private readonly slots: number) {}

  /** Resolves with the release function once a slot is held. */
  async acquire(userId: string): Promise<() => void> {
    if (this.busy < this.slots && this.waiting.size === 0) {
      this.busy++;
      return this.releaser();
    }
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(userId);
      if (queue) queue.push(resolve);
      else this.waiting.set(userId, [resolve]);
    });
    return this.releaser();
  }

  /** Readers waiting for a slot. */
  get queued(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.length;
    return count;
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
    const [userId, queue] = first.value;
    const resolve = queue.shift()!;
    // The user goes to the back of the line: the others are served before their next one.
    this.waiting.delete(userId);
    if (queue.length > 0) this.waiting.set(userId, queue);
    this.busy++;
    resolve();
  }
}
