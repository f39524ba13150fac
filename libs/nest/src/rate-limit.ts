/**
 * Token buckets per key (a user id, an IP address): `rate` requests per second on
 * average, bursts up to `burst`. In memory, per process, with the least recently used
 * keys dropped past `maxKeys`, so memory stays bounded whatever the traffic.
 */
export class RateLimited extends Error {
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

  /** Takes one token for `key`, or throws RateLimited with the wait until the next one. */
  take(key: string, now = Date.now()): void {
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens < 1) throw new RateLimited(Math.max(1, Math.ceil((1 - bucket.tokens) / this.rate)));
    bucket.tokens -= 1;
  }
}
