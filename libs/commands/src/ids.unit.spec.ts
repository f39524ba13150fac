import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyedRandomLookingId } from './index.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('keyedRandomLookingId', () => {
  it('is shaped as randomUUID() is, the same for the same key and input, and unknowable without the key', () => {
    expect(randomUUID()).toMatch(V4);
    const id = keyedRandomLookingId('key one', 'withheld c u m1');
    expect(id).toMatch(V4);
    expect(keyedRandomLookingId('key one', 'withheld c u m1')).toBe(id);
    expect(keyedRandomLookingId('key two', 'withheld c u m1')).not.toBe(id);
    expect(keyedRandomLookingId('key one', 'withheld c u m2')).not.toBe(id);
  });
});
