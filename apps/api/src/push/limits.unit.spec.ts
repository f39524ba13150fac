import { describe, expect, it } from 'vitest';
import { frameCost, presenceCost, syncCost } from './limits.js';

describe('what a frame costs in the user rate limit', () => {
  it('any frame costs one token, and one more per 16 KiB of it', () => {
    expect(frameCost(2)).toBe(1);
    expect(frameCost(16 * 1024 - 1)).toBe(1);
    expect(frameCost(16 * 1024)).toBe(2);
    expect(frameCost(64 * 1024)).toBe(5);
  });

  it('a sync costs one token, and one more per 100 conversations past the first 100', () => {
    expect(syncCost(0)).toBe(1);
    expect(syncCost(100)).toBe(1);
    expect(syncCost(101)).toBe(2);
    expect(syncCost(1_000)).toBe(10);
    expect(syncCost(1_001)).toBe(11);
  });

  it('a presence frame costs one token, and one more per 100 users past the first 100', () => {
    expect(presenceCost(0)).toBe(1);
    expect(presenceCost(100)).toBe(1);
    expect(presenceCost(101)).toBe(2);
    expect(presenceCost(200)).toBe(2);
  });
});
