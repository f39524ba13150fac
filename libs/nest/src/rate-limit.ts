/**
 * Token buckets per key (a user id, an IP address): `rate` requests per second on
 * average, bursts up to `burst`. In memory, per process, with the least recently used
 * keys dropped past `maxKeys`, so memory stays bounded whatever the traffic.
 */
import { EdgeError } from './error-codes.js';

export class RateLimited extends EdgeError {
  readonly code = 'REQUEST.RATE_LIMITED';
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests: retry in ${retryAfterSeconds} s`);
    this.name = 'RateLimited';
  }
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token for `key` if there is one: for what is dropped silently past the limit. */
  tryTake(key: string, now = Date.now()): boolean {
    try {
      this.take(key, now);
      return true;
    } catch (error) {
      if (error instanceof RateLimited) return false;
      throw error;
    }
  }

  /** Takes `cost` tokens for `key` (one request), or throws RateLimited with the wait until there are. */
  take(key: string, now = Date.now(), cost = 1): void {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    // A request costing more than a burst could never pass: it waits for a full bucket instead.
    const needed = Math.min(cost, this.burst);
    if (bucket.tokens < needed) throw new RateLimited(Math.max(1, Math.ceil((needed - bucket.tokens) / this.rate)));
    bucket.tokens -= needed;
  }
}
