import { describe, expect, it } from 'vitest';
import { RateLimited, RateLimiter } from './rate-limit.js';

describe('rate limiter', () => {
  it('allows a burst, then the rate, and says how long to wait', () => {
    const limiter = new RateLimiter(2, 3);
    for (let i = 0; i < 3; i++) limiter.take('a', 0);
    expect(() => limiter.take('a', 0)).toThrow('retry in 1 s');
    expect(() => limiter.take('a', 0)).toThrow(RateLimited);
    limiter.take('a', 500); // one token back after half a second at 2/s
    expect(() => limiter.take('a', 500)).toThrow(RateLimited);
    limiter.take('b', 0); // other keys are not affected
  });

  it('keeps at most maxKeys buckets', () => {
    const limiter = new RateLimiter(1, 1, 2);
    limiter.take('a', 0);
    limiter.take('b', 0);
    limiter.take('c', 0); // drops a
    limiter.take('a', 0); // a starts afresh
    expect(() => limiter.take('c', 0)).toThrow(RateLimited);
  });

  it('a request may cost several tokens; one costing more than a burst waits for a full bucket', () => {
    const limiter = new RateLimiter(2, 6);
    limiter.take('a', 0, 4);
    expect(() => limiter.take('a', 0, 3)).toThrow(RateLimited);
    limiter.take('a', 0, 2);
    expect(() => limiter.take('a', 0, 10)).toThrow(RateLimited);
    expect(() => limiter.take('a', 0, 10)).toThrow('retry in 3 s');
    limiter.take('a', 3000, 10); // six tokens back after three seconds: a full bucket pays for it
    expect(() => limiter.take('a', 3000)).toThrow(RateLimited);
  });

  it('tryTake answers false past the limit instead of throwing', () => {
    const limiter = new RateLimiter(1, 2);
    expect([limiter.tryTake('a', 0), limiter.tryTake('a', 0), limiter.tryTake('a', 0)]).toEqual([true, true, false]);
    expect(limiter.tryTake('a', 1000)).toBe(true);
  });
});
