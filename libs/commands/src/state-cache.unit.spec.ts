import { describe, expect, it } from 'vitest';
import { StateCache } from './state-cache.js';

describe('state cache', () => {
  it('past its capacity, the least recently remembered state goes first', () => {
    const cache = new StateCache<string>(2);
    cache.remember('a', { state: 'a0', revision: 0 });
    cache.remember('b', { state: 'b0', revision: 0 });
    cache.remember('a', { state: 'a1', revision: 1 });
    cache.remember('c', { state: 'c0', revision: 0 });
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([
      { state: 'a1', revision: 1 },
      undefined,
      { state: 'c0', revision: 0 },
    ]);
  });

  it('is bounded by the weight of what it holds, and keeps one state whatever it weighs', () => {
    const cache = new StateCache<number[]>(5, (state) => state.length);
    cache.remember('small', { state: [1, 2], revision: 0 });
    cache.remember('large', { state: [1, 2, 3, 4, 5, 6], revision: 0 });
    expect(cache.get('small')).toBeUndefined();
    expect(cache.get('large')?.state).toHaveLength(6);
  });

  it('keeps the newer state when a read that started before a write ends after it', () => {
    const cache = new StateCache<string>(10);
    cache.remember('a', { state: 'after the write', revision: 3 });
    cache.remember('a', { state: 'the older read', revision: 2 });
    expect(cache.get('a')?.state).toBe('after the write');
  });

  it('does not cache a stream that does not exist', () => {
    const cache = new StateCache<string>(10);
    cache.remember('nobody', { state: 'initial', revision: 'no_stream' });
    expect(cache.get('nobody')).toBeUndefined();
  });
});
