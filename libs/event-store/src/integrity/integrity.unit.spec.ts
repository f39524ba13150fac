import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  contentHash,
  contentHashOfText,
  IntegrityMismatch,
  personalDigest,
  saltPersonalFields,
  type PersonalSalts,
} from './event-hash.js';
import { auditPath, formatDigest, MerkleRoot, nodeHash, parseDigest, verifyAuditPath } from './merkle.js';

const leaf = (i: number): Buffer => createHash('sha256').update(`leaf ${i}`).digest();

/** RFC 9162's MTH, written as the RFC defines it. */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('Merkle tree (RFC 9162)', () => {
  it('streams the root of any size, and every audit path leads to it and only from its leaf', () => {
    for (let size = 1; size <= 33; size++) {
      const leaves = Array.from({ length: size }, (_, i) => leaf(i));
      const tree = new MerkleRoot();
      for (const l of leaves) tree.push(l);
      const root = tree.root();
      expect(root.equals(mth(leaves))).toBe(true);
      for (let i = 0; i < size; i++) {
        const path = auditPath(leaves, i);
        expect(verifyAuditPath(i, size, leaves[i]!, path, root)).toBe(true);
        expect(verifyAuditPath(i, size, leaf(1000), path, root)).toBe(false);
        if (size > 1) expect(verifyAuditPath((i + 1) % size, size, leaves[i]!, path, root)).toBe(false);
      }
    }
  });

  it('formats and parses digests, refusing anything else', () => {
    const text = formatDigest({
      number: 7,
      afterCheckpoint: '0'.repeat(16) + '-' + '0'.repeat(16),
      lastCheckpoint: '00000000000002a0-0000000000000010',
      eventCount: 3,
      merkleRoot: 'a'.repeat(64),
      previousHash: null,
      sealHash: 'b'.repeat(64),
    });
    expect(parseDigest(text)).toEqual({
      sealNumber: 7,
      lastCheckpoint: '00000000000002a0-0000000000000010',
      sealHash: 'b'.repeat(64),
    });
    expect(parseDigest(text.replace(':7:', ':0:'))).toBeUndefined();
    expect(parseDigest(text + 'b')).toBeUndefined();
  });
});

describe('event content hash', () => {
  const base = {
    eventId: '0b5f1c9e-6c1b-4c84-9f7e-2a4a3c0e8d11',
    type: 'MessageSent',
    schemaVersion: 1,
    metadata: '{"actorId":"a"}',
  };

  it('finds personal values by the catalogue paths, arrays included, as JSON Pointers', () => {
    const data = { text: 'hi', attachments: [{ url: 'https://x/1', name: 'a' }, { url: 'https://x/2' }], n: 1 };
    const salts = saltPersonalFields(data, ['text', 'attachments[].url', 'attachments[].name', 'absent']);
    expect(Object.keys(salts!)).toEqual(['/text', '/attachments/0/url', '/attachments/1/url', '/attachments/0/name']);
    expect(saltPersonalFields({ n: 1 }, ['text'])).toBeNull();
  });

  it('commits to a personal value through its salted digest, so erasing it (null + the digest) keeps the hash', () => {
    const data = JSON.stringify({ text: 'secret', n: 1 });
    const personal = { '/text': '00'.repeat(16) };
    const before = contentHash({ ...base, data, personal });
    const erased = { '/text': { erased: personalDigest('00'.repeat(16), 'secret') } };
    expect(contentHash({ ...base, data: JSON.stringify({ text: null, n: 1 }), personal: erased })).toBe(before);
    expect(contentHash({ ...base, data: JSON.stringify({ text: null, n: 2 }), personal: erased })).not.toBe(before);
    expect(contentHash({ ...base, data: JSON.stringify({ text: 'other', n: 1 }), personal })).not.toBe(before);
    expect(() => contentHash({ ...base, data: JSON.stringify({ text: 'x', n: 1 }), personal: erased })).toThrow(
      IntegrityMismatch,
    );
    // Without personal entries the value itself is hashed: another hash.
    expect(contentHash({ ...base, data, personal: null })).not.toBe(before);
  });

  it('computes the same hash on the stored text as by re-serializing, and leaves to contentHash what it cannot', () => {
    const datas: unknown[] = [
      { text: 'hi', n: 1 },
      { messageId: 'm', text: 'say "\\" and \u00e9 \n', mentions: ['u'], reply: { text: 'not personal' } },
      {
        attachments: [
          { url: 'https://x/1', name: 'a "b"' },
          { url: 'https://x/2', size: 3 },
        ],
        text: null,
      },
      { profile: { displayName: ['x', { y: '}' }] }, 2: 'integer key first' },
      { text: 12.5e3 },
    ];
    const paths = ['text', 'attachments[].url', 'attachments[].name', 'profile.displayName'];
    for (const value of datas) {
      const salts = saltPersonalFields(value, paths);
      const event = { ...base, data: JSON.stringify(value), personal: salts };
      expect(contentHashOfText(event)).toBe(contentHash(event));
      // A writer's check that each value's text is the one it salted.
      expect(contentHashOfText(event, () => false)).toBe(salts ? undefined : contentHash(event));
    }
    // Erased: the same hash with the value null; undefined when the value is not null.
    const data = JSON.stringify({ text: 'secret', n: 1 });
    const personal = { '/text': '00'.repeat(16) };
    const erased: PersonalSalts = { '/text': { erased: personalDigest('00'.repeat(16), 'secret') } };
    expect(contentHashOfText({ ...base, data: '{"text":null,"n":1}', personal: erased })).toBe(
      contentHash({ ...base, data, personal }),
    );
    expect(contentHashOfText({ ...base, data, personal: erased })).toBeUndefined();
    // Text that is not compact, or a pointer not found: left to contentHash.
    expect(contentHashOfText({ ...base, data: '{ "text": "secret" }', personal })).toBeUndefined();
    expect(contentHashOfText({ ...base, data: '{"n":1}', personal })).toBeUndefined();
    expect(contentHashOfText({ ...base, data: '{"te\\u0078t":"secret"}', personal })).toBeUndefined();
  });
});
