import { parseInput, RequestInvalid } from '@herald/nest';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeInboxCursor, InboxCursor } from './inbox-cursor.js';

describe('the inbox cursor', () => {
  it('decodes to exactly what was encoded, microseconds beyond a JS number included', () => {
    for (const activityMicros of ['1795754065774533', '9007199254740993', '0', '-946666799000001']) {
      const at = { activityMicros, conversationId: randomUUID() };
      expect(parseInput(InboxCursor, encodeInboxCursor(at), 'query')).toEqual(at);
    }
  });

  it('anything else is refused as invalid input', () => {
    const encoded = (text: string): string => Buffer.from(text).toString('base64url');
    for (const cursor of ['', '+/=', encoded('1|x'), encoded(`1.5|${randomUUID()}`), encoded(`1|${randomUUID()}|`)]) {
      expect(() => parseInput(InboxCursor, cursor, 'query'), cursor).toThrow(RequestInvalid);
    }
  });
});
