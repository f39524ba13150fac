/** The search cursor as GET /search hands it out: with and without the floor of bounded candidates. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeSearchCursor, encodeSearchCursor, type SearchCursor } from './search.port.js';

describe('search cursor', () => {
  const base = { score: 0.5, sentAt: '2026-01-01T00:00:00.000Z', messageId: randomUUID() };

  it('round-trips with and without a floor', () => {
    const floored: SearchCursor = { ...base, floor: { sentAt: '2025-12-31T00:00:00.000Z', messageId: randomUUID() } };
    expect(decodeSearchCursor(encodeSearchCursor(base))).toEqual(base);
    expect(decodeSearchCursor(encodeSearchCursor(floored))).toEqual(floored);
  });

  it('refuses a floor that is half there or not a time and an id', () => {
    const encode = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    expect(decodeSearchCursor(encode([0.5, base.sentAt, base.messageId, base.sentAt]))).toBeNull();
    expect(decodeSearchCursor(encode([0.5, base.sentAt, base.messageId, 'x', base.messageId]))).toBeNull();
    expect(decodeSearchCursor(encode([0.5, base.sentAt, base.messageId, base.sentAt, 'y']))).toBeNull();
  });

  it('refuses times it never hands out: before 1970, past 9999 or with an offset', () => {
    const encode = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const sentAt of ['0000-01-01T00:00:00Z', '2026-01-01T00:00:00+20:00', '1969-12-31T23:59:59Z']) {
      expect(decodeSearchCursor(encode([0.5, sentAt, base.messageId]))).toBeNull();
      expect(decodeSearchCursor(encode([0.5, base.sentAt, base.messageId, sentAt, base.messageId]))).toBeNull();
    }
  });
});
