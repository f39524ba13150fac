/**
 * Seals (ADR 030): a Merkle tree over the events of a checkpoint range, RFC 9162's (the
 * Certificate Transparency tree: leaf = SHA-256(0x00 ‖ leaf data), node = SHA-256(0x01 ‖
 * left ‖ right), the left subtree the largest power of two), and the seal record chained to
 * the previous seal. No I/O.
 */
import { createHash, hash } from 'node:crypto';
import { sha256Hex } from './event-hash.js';

/** What a leaf commits to: where and when the log recorded an event, and the event's hash. */
export interface LeafInput {
  readonly checkpoint: string;
  /** recorded_at in microseconds since the epoch, as a decimal string. */
  readonly recordedAtMicros: string;
  /** The event's stored hash (hex); empty for an event written without one. */
  readonly hash: string;
}

export function leafHash(leaf: LeafInput): Buffer {
  // U+0000 is the byte 0x00 in UTF-8.
  return hash(
    'sha256',
    `\u0000["herald-leaf-v1","${leaf.checkpoint}","${leaf.recordedAtMicros}","${leaf.hash}"]`,
    'buffer',
  );
}

/** One buffer for every node's input: a one-shot hash costs half a createHash chain. */
const NODE_INPUT = Buffer.alloc(65, 1);
export function nodeHash(left: Buffer, right: Buffer): Buffer {
  if (left.length !== 32 || right.length !== 32) {
    return createHash('sha256')
      .update(Buffer.from([1]))
      .update(left)
      .update(right)
      .digest();
  }
  left.copy(NODE_INPUT, 1);
  right.copy(NODE_INPUT, 33);
  return hash('sha256', NODE_INPUT, 'buffer');
}

/** The root of the empty tree (RFC 9162: the hash of the empty string). */
const EMPTY_ROOT = createHash('sha256').digest();

/**
 * The root of a tree fed leaf by leaf in O(log n) memory: the perfect subtrees so far
 * (sizes decreasing powers of two), folded right to left at the end, which is RFC 9162's
 * root for any size.
 */
export class MerkleRoot {
  private readonly peaks: { hash: Buffer; size: number }[] = [];
  size = 0;

  push(leaf: Buffer): void {
    let node = { hash: leaf, size: 1 };
    while (this.peaks.length > 0 && this.peaks[this.peaks.length - 1]!.size === node.size) {
      const left = this.peaks.pop()!;
      node = { hash: nodeHash(left.hash, node.hash), size: left.size * 2 };
    }
    this.peaks.push(node);
    this.size++;
  }

  root(): Buffer {
    if (this.peaks.length === 0) return EMPTY_ROOT;
    let hash = this.peaks[this.peaks.length - 1]!.hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) hash = nodeHash(this.peaks[i]!.hash, hash);
    return hash;
  }
}

/** RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of `leaves`, bottom up. */
export function auditPath(leaves: readonly Buffer[], index: number): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return index < k
    ? [...auditPath(leaves.slice(0, k), index), subtreeRoot(leaves.slice(k))]
    : [...auditPath(leaves.slice(k), index - k), subtreeRoot(leaves.slice(0, k))];
}

function subtreeRoot(leaves: readonly Buffer[]): Buffer {
  const root = new MerkleRoot();
  for (const leaf of leaves) root.push(leaf);
  return root.root();
}

/** RFC 9162 §2.1.3.2: whether `path` leads from leaf `index` of a tree of `size` leaves to `root`. */
export function verifyAuditPath(
  index: number,
  size: number,
  leaf: Buffer,
  path: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else r = nodeHash(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.equals(root);
}

/** A seal as stored: a checkpoint range, its tree's root, chained to the previous seal. */
export interface SealFields {
  readonly number: number;
  /** The range is the events after this checkpoint (the previous seal's last; START for the first)… */
  readonly afterCheckpoint: string;
  /** …through this one. */
  readonly lastCheckpoint: string;
  readonly eventCount: number;
  readonly merkleRoot: string;
  /** The previous seal's hash; null for seal 1. */
  readonly previousHash: string | null;
}

export function sealHash(seal: SealFields): string {
  const previous = seal.previousHash === null ? 'null' : `"${seal.previousHash}"`;
  return sha256Hex(
    `["herald-seal-v1",${seal.number},"${seal.afterCheckpoint}","${seal.lastCheckpoint}",${seal.eventCount},"${seal.merkleRoot}",${previous}]`,
  );
}

/** A digest an auditor keeps outside Herald: `herald-digest:v1:<seal number>:<last checkpoint>:<seal hash>`. */
export interface Digest {
  readonly sealNumber: number;
  readonly lastCheckpoint: string;
  readonly sealHash: string;
}

export const formatDigest = (seal: SealFields & { readonly sealHash: string }): string =>
  `herald-digest:v1:${seal.number}:${seal.lastCheckpoint}:${seal.sealHash}`;

export function parseDigest(text: string): Digest | undefined {
  const match = /^herald-digest:v1:([1-9]\d{0,15}):([0-9a-f]{16}-[0-9a-f]{16}):([0-9a-f]{64})$/.exec(text.trim());
  if (!match) return undefined;
  return { sealNumber: Number(match[1]), lastCheckpoint: match[2]!, sealHash: match[3]! };
}
