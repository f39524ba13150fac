import { PostgresEventStore, Sealer, TamperEvidence, type InclusionProof } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { freshDatabase, testEvent, uniqueId } from '@herald/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const verifier = fileURLToPath(new URL('./verify-proof.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'herald-proof-'));

/** Runs the offline verifier on a proof, as an auditor would. */
function check(proof: unknown, ...args: string[]) {
  const file = join(dir, `${uniqueId('proof')}.json`);
  writeFileSync(file, JSON.stringify(proof));
  return spawnSync(process.execPath, [verifier, file, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('examples/verify-proof: the offline inclusion-proof verifier', () => {
  it('accepts a proof Herald gives for each event of a seal, and refuses it after any tampering', async () => {
    const url = await freshDatabase();
    const store = new PostgresEventStore({ connectionString: url, poolSize: 2 });
    await store.migrate();
    const stream = streamIdOf('conversation', uniqueId());
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const e = testEvent('MessageSent', {
        messageId: crypto.randomUUID(),
        senderId: 'u',
        text: `m${i}`,
        mentions: [],
      });
      ids.push(e.eventId);
      await store.append(stream, [e], 'any');
    }
    const sealer = new Sealer({ connectionString: url, intervalMs: 60_000 });
    const evidence = new TamperEvidence({ connectionString: url });
    try {
      await expect(evidence.inclusionProof(ids[0]!)).rejects.toMatchObject({ code: 'AUDIT.NOT_SEALED_YET' });
      await sealer.sealAll();
      const digest = (await evidence.latestDigest())!.digest;
      const proofs: InclusionProof[] = [];
      for (const id of ids) proofs.push(await evidence.inclusionProof(id));
      for (const proof of proofs) {
        const result = check(proof, '--digest', digest);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toContain(`digest: ${digest}`);
      }
      // By checkpoint too.
      expect(await evidence.inclusionProof(proofs[3]!.checkpoint)).toEqual(proofs[3]);
      await expect(evidence.inclusionProof(crypto.randomUUID())).rejects.toMatchObject({
        code: 'AUDIT.EVENT_NOT_FOUND',
      });

      const p = proofs[4]!;
      const tampered: [string, unknown, RegExp][] = [
        ['the event data', { ...p, event: { ...p.event, data: p.event.data.replace('m4', 'M4') } }, /content/],
        ['the event type', { ...p, event: { ...p.event, type: 'MessageEdited' } }, /content/],
        ['the recorded time', { ...p, recordedAtMicros: String(BigInt(p.recordedAtMicros) + 1n) }, /Merkle root/],
        ['the leaf index', { ...p, leafIndex: p.leafIndex - 1 }, /Merkle root|path/],
        [
          'a path step',
          { ...p, path: [p.path[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), ...p.path.slice(1)] },
          /Merkle root/,
        ],
        ['the seal root', { ...p, seal: { ...p.seal, merkleRoot: 'ab'.repeat(32) } }, /Merkle root/],
        ['the seal range', { ...p, seal: { ...p.seal, afterCheckpoint: p.checkpoint } }, /seal’s fields/],
      ];
      for (const [what, proof, reason] of tampered) {
        const result = check(proof);
        expect(result.status, what).toBe(1);
        expect(result.stderr, what).toMatch(reason);
      }
      // A proof that holds, but for another seal than the digest the auditor kept.
      const other = check(p, '--digest', digest.replace(/:[0-9a-f]{64}$/, `:${'0'.repeat(64)}`));
      expect(other.status).toBe(1);
      expect(check(p, '--digest').status).toBe(2);
    } finally {
      await sealer.stop();
      await evidence.close();
      await store.close();
    }
  });
});
