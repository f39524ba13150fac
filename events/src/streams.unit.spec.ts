import { describe, expect, it } from 'vitest';
import { CATEGORIES, INTERNAL_CATEGORIES } from './define.js';
import { categoryOfStream, idOfStream, STREAM_PREFIXES, streamIdOf, streamPrefixOf } from './streams.js';

describe('stream names', () => {
  it("a stream's id is its category's prefix followed by the entity id", () => {
    expect(streamIdOf('conversation', 'c-1')).toBe('conversation-c-1');
    expect(streamIdOf('receipts', 'u1')).toBe('receipts-u1');
    expect(streamIdOf('session', 's1')).toBe('session-s1');
  });

  it('the prefixes are the ones the categories declare, public and internal', () => {
    expect(streamPrefixOf('user')).toBe(CATEGORIES.user.streamPrefix);
    expect(streamPrefixOf('conversation')).toBe(CATEGORIES.conversation.streamPrefix);
    expect(streamPrefixOf('contact')).toBe(CATEGORIES.contact.streamPrefix);
    expect(streamPrefixOf('receipts')).toBe(CATEGORIES.receipts.streamPrefix);
    expect(streamPrefixOf('username')).toBe(INTERNAL_CATEGORIES.username.streamPrefix);
    expect(streamPrefixOf('session')).toBe(INTERNAL_CATEGORIES.session.streamPrefix);
  });

  it('the entity id comes back out of a stream of its category', () => {
    expect(idOfStream('conversation', streamIdOf('conversation', 'c-1'))).toBe('c-1');
  });

  it('a stream of another category has no id in this one', () => {
    expect(idOfStream('conversation', 'session-s1')).toBeUndefined();
    expect(idOfStream('user', 'username-ada')).toBeUndefined();
  });

  it('no prefix is the start of another, so a stream belongs to one category only', () => {
    const prefixes = Object.values({ ...CATEGORIES, ...INTERNAL_CATEGORIES }).map((c) => c.streamPrefix);
    for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(b.startsWith(a)).toBe(false);
  });

  it('a public stream has its category; an internal one has none', () => {
    expect(categoryOfStream(streamIdOf('contact', 'a-b'))).toBe('contact');
    expect(categoryOfStream(streamIdOf('username', 'ada'))).toBeUndefined();
  });

  it('the integration stream carries the public categories only', () => {
    expect([...STREAM_PREFIXES].sort()).toEqual(['contact-', 'conversation-', 'receipts-', 'user-']);
  });
});
