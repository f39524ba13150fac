import { describe, expect, it } from 'vitest';
import { KnownRevisions } from './known-revisions.js';

describe('KnownRevisions', () => {
  it('remembers the newest revision committed to a stream, with its hash', () => {
    const known = new KnownRevisions();
    known.remember('s-1', 0, 'h0');
    known.remember('s-1', 4, 'h4');
    expect(known.get('s-1')).toEqual({ revision: 4, hash: 'h4' });
    expect(known.get('s-2')).toBeUndefined();
  });

  it('does not remember a stream without events', () => {
    const known = new KnownRevisions();
    known.remember('s-1', -1, null);
    expect(known.get('s-1')).toBeUndefined();
  });

  it('forgets the least recently written stream first when full', () => {
    const known = new KnownRevisions(2);
    known.remember('a-1', 0, 'h0');
    known.remember('b-1', 0, 'h0');
    known.remember('a-1', 1, 'h1'); // a-1 written again: b-1 is now the oldest
    known.remember('c-1', 0, 'h0');
    expect(known.get('b-1')).toBeUndefined();
    expect(known.get('a-1')?.revision).toBe(1);
    expect(known.get('c-1')?.revision).toBe(0);
  });

  it('forgets everything when cleared (the server may have changed)', () => {
    const known = new KnownRevisions();
    known.remember('a-1', 3, 'h3');
    known.clear();
    expect(known.get('a-1')).toBeUndefined();
  });
});
