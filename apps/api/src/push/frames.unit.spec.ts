import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './frames.js';

const id = '0B9D8F86-4F4E-4B7A-8D3E-2B1C5A6F7E81';
const parse = (text: string, isBinary = false) => parseClientFrame(Buffer.from(text), isBinary);

describe('client frames', () => {
  it('a sync is read into conversation ids (in lower case) and the seqs the client has', () => {
    const frame = parse(JSON.stringify({ type: 'sync', conversations: { [id]: 7 } }));
    expect(frame?.type === 'sync' && [...frame.conversations]).toEqual([[id.toLowerCase(), 7]]);
  });

  it('a sync key that is no id is refused, "__proto__" included, rather than skipped', () => {
    expect(parse('{"type":"sync","conversations":{"__proto__":1}}')).toBeUndefined();
    expect(parse('{"type":"sync","conversations":{"abc":1}}')).toBeUndefined();
  });

  it('a sync naming more conversations than allowed is still a sync: the count gets its own answer', () => {
    const conversations = Object.fromEntries(
      Array.from({ length: 1_001 }, (_, i) => [`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 0]),
    );
    const frame = parse(JSON.stringify({ type: 'sync', conversations }));
    expect(frame?.type === 'sync' && frame.conversations.size).toBe(1_001);
  });

  it('seqs below -1, fractions and past the largest safe integer are refused', () => {
    for (const seq of [-2, 1.5, Number.MAX_SAFE_INTEGER + 2]) {
      expect(parse(`{"type":"sync","conversations":{"${id}":${seq}}}`)).toBeUndefined();
    }
  });

  it('an auth frame with no token is a frame (the token is refused, not the frame)', () => {
    expect(parse('{"type":"auth"}')).toEqual({ type: 'auth' });
  });

  it('binary frames, text that is not JSON, unknown types and extra fields are refused', () => {
    expect(parse('{"type":"auth"}', true)).toBeUndefined();
    expect(parse('not json')).toBeUndefined();
    expect(parse('{"type":"subscribe"}')).toBeUndefined();
    expect(parse(`{"type":"typing","conversationId":"${id}","extra":1}`)).toBeUndefined();
  });
});
