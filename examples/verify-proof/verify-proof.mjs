#!/usr/bin/env node
/**
 * Checks a Herald inclusion proof offline, with nothing but Node.js (no Herald code):
 *
 *   node verify-proof.mjs proof.json [--digest herald-digest:v1:<seal>:<checkpoint>:<hash>]
 *
 * It recomputes (docs/adr/030-tamper-evident-log.md has the definitions):
 * 1. the event's hash from its stored content and its stream predecessor's hash;
 * 2. the Merkle leaf from the event's checkpoint, recorded time and hash;
 * 3. the seal's Merkle root from the leaf and the audit path (RFC 9162 §2.1.3.2);
 * 4. the seal's hash from its fields; with --digest, that it equals a digest you kept.
 * Exit code 0: the proof holds; 1: it does not (the reason on stderr); 2: usage.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const sha256 = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const hex = (buffer) => buffer.toString('hex');

/** A personal value enters the hash as SHA-256(its salt, 32 hex digits ‖ its JSON text). */
const personalDigest = (saltHex, value) => hex(sha256(saltHex + JSON.stringify(value)));

/** Step 1: the event's hash (ADR 030, "What an event's hash covers"). */
export function eventHash(event) {
  const pointers = event.personal ? Object.keys(event.personal).sort() : [];
  let data = event.data;
  if (pointers.length > 0) {
    const parsed = JSON.parse(event.data);
    for (const pointer of pointers) {
      const keys = pointer
        .split('/')
        .slice(1)
        .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
      let parent = parsed;
      for (const key of keys.slice(0, -1)) parent = parent?.[key];
      const key = keys[keys.length - 1];
      if (typeof parent !== 'object' || parent === null || key === undefined) throw new Error(`${pointer} is missing`);
      const entry = event.personal[pointer];
      if (typeof entry === 'string') {
        if (parent[key] === undefined) throw new Error(`personal value ${pointer} is missing`);
        parent[key] = personalDigest(entry, parent[key]);
      } else {
        if (parent[key] !== null) throw new Error(`erased personal value ${pointer} is not null`);
        parent[key] = entry.erased;
      }
    }
    data = JSON.stringify(parsed);
  }
  const content = hex(
    sha256(
      `["herald-content-v1","${event.eventId}",${JSON.stringify(event.type)},${event.schemaVersion},${data},${event.metadata},${JSON.stringify(pointers)}]`,
    ),
  );
  const previous = event.previousHash === null ? 'null' : `"${event.previousHash}"`;
  return hex(
    sha256(`["herald-event-v1",${JSON.stringify(event.streamId)},${event.streamRevision},"${content}",${previous}]`),
  );
}

const node = (left, right) => sha256(Buffer.from([1]), left, right);

/** Step 3: RFC 9162 §2.1.3.2. */
function rootFromPath(index, size, leaf, path) {
  if (index >= size) throw new Error('the leaf index is outside the tree');
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path.map((h) => Buffer.from(h, 'hex'))) {
    if (sn === 0) throw new Error('the audit path is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else r = node(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) throw new Error('the audit path is too short');
  return hex(r);
}

/** Checks a proof; throws with the reason when it does not hold. Returns the seal's digest. */
export function verifyProof(proof, keptDigest) {
  if (proof.version !== 'herald-proof-v1') throw new Error(`unknown proof version ${proof.version}`);
  const { event, seal } = proof;
  const hash = eventHash(event);
  if (hash !== event.hash) throw new Error("the event's content does not match its hash");
  const leaf = sha256(
    Buffer.from([0]),
    `["herald-leaf-v1","${proof.checkpoint}","${proof.recordedAtMicros}","${hash}"]`,
  );
  if (proof.treeSize !== seal.eventCount) throw new Error('the tree size is not the seal’s event count');
  const root = rootFromPath(proof.leafIndex, proof.treeSize, leaf, proof.path);
  if (root !== seal.merkleRoot) throw new Error('the audit path does not lead to the seal’s Merkle root');
  const previous = seal.previousHash === null ? 'null' : `"${seal.previousHash}"`;
  const sealHash = hex(
    sha256(
      `["herald-seal-v1",${seal.number},"${seal.afterCheckpoint}","${seal.lastCheckpoint}",${seal.eventCount},"${root}",${previous}]`,
    ),
  );
  if (sealHash !== seal.sealHash) throw new Error('the seal’s fields do not match its hash');
  const digest = `herald-digest:v1:${seal.number}:${seal.lastCheckpoint}:${sealHash}`;
  if (keptDigest !== undefined && keptDigest.trim() !== digest) {
    throw new Error(`the seal is not the one of the digest you kept (the proof's seal is ${digest})`);
  }
  return digest;
}

const invoked = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop());
if (invoked) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--digest');
  const digest = at >= 0 ? args[at + 1] : undefined;
  const file = args.find((a, i) => !a.startsWith('--') && (at < 0 || i !== at + 1));
  if (!file || (at >= 0 && !digest)) {
    process.stderr.write('usage: node verify-proof.mjs proof.json [--digest <digest>]\n');
    process.exit(2);
  }
  try {
    const proof = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
    const sealDigest = verifyProof(proof, digest);
    process.stdout.write(
      `ok: event ${proof.event.eventId} (${proof.event.streamId}@${proof.event.streamRevision}, checkpoint ${proof.checkpoint}) is in seal ${proof.seal.number}\n` +
        `digest: ${sealDigest}\n`,
    );
  } catch (error) {
    process.stderr.write(`proof refused: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
