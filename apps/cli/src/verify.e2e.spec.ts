import { PostgresEventStore, Sealer } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { freshDatabase, testEvent, uniqueId } from '@herald/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

// The build `npm test` makes first, as `npm run herald -- verify` runs it.
const main = fileURLToPath(new URL('../../../dist/apps/cli/src/main.js', import.meta.url));
const verifier = fileURLToPath(new URL('../../../examples/verify-proof/verify-proof.mjs', import.meta.url));

describe('herald verify and herald proof', () => {
  it('verifies an intact log (0), names a tampered event (1), refuses a bad command line (2), and gives proofs the offline verifier accepts', async () => {
    const url = await freshDatabase();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [main, ...args], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, DATABASE_URL: url },
      });
    const store = new PostgresEventStore({ connectionString: url, poolSize: 2 });
    await store.migrate();
    const streams = [streamIdOf('conversation', uniqueId()), streamIdOf('user', uniqueId())];
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const e = testEvent('MessageSent', {
        messageId: crypto.randomUUID(),
        senderId: 'u',
        text: `m${i}`,
        mentions: [],
      });
      ids.push(e.eventId);
      await store.append(streams[i % 2]!, [e], 'any');
    }
    await store.close();
    // Three seals (4, 4 and 2 events): `--threads 3` checks them in three worker threads.
    const sealer = new Sealer({ connectionString: url, intervalMs: 60_000, maxEvents: 4 });
    await sealer.sealAll();
    await sealer.stop();

    const intact = run('verify');
    expect(intact.status).toBe(0);
    expect(intact.stdout).toMatch(/^ok: 10 events, 3 seals verified/);
    expect(run('verify', '--threads', '3').stdout).toBe(intact.stdout);
    expect(run('verify', '--threads', '1').stdout).toBe(intact.stdout);
    expect(run('verify', '--threads', '0').status).toBe(2);
    const digest = /newest digest \(keep it outside Herald\): (\S+)/.exec(intact.stdout)![1]!;
    expect(run('verify', '--digest', digest).status).toBe(0);
    expect(run('verify', '--stream', streams[0]!).stdout).toMatch(/^ok: 5 events/);
    const json = JSON.parse(run('verify', '--json').stdout) as { ok: boolean; events: number; latestDigest: string };
    expect(json).toMatchObject({ ok: true, events: 10, latestDigest: digest });

    // A proof, checked offline against the digest kept.
    const proof = run('proof', ids[9]!); // in the newest seal, the digest's
    expect(proof.status).toBe(0);
    const file = join(mkdtempSync(join(tmpdir(), 'herald-cli-')), 'proof.json');
    writeFileSync(file, proof.stdout);
    const offline = spawnSync(process.execPath, [verifier, file, '--digest', digest], { encoding: 'utf8' });
    expect(offline.status).toBe(0);
    expect(run('proof', crypto.randomUUID()).status).toBe(1);
    expect(run('proof', 'not-an-id').status).toBe(2);

    // Usage errors: nothing is opened.
    for (const args of [
      ['verify', '--from', 'yesterday'],
      ['verify', '--digest', 'abc'],
      ['verify', '--stream', streams[0]!, '--to', '0000000000000000-0000000000000001'],
    ]) {
      const result = run(...args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^herald: /);
    }

    // A direct UPDATE in the events table.
    const sql = new pg.Client(url);
    await sql.connect();
    const { rows } = await sql.query<{ cp: string }>(
      `UPDATE herald_events SET data = '{"text":"forged"}' WHERE event_id = $1
       RETURNING lpad(to_hex(tx_id::text::bigint), 16, '0') || '-' || lpad(to_hex(global_position), 16, '0') AS cp`,
      [ids[6]],
    );
    await sql.end();
    const broken = run('verify');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain(`BROKEN at stream ${streams[0]}, revision 3, checkpoint ${rows[0]!.cp}:`);
    // In the second of three worker threads' segments: the same report as one thread's.
    for (const threads of ['1', '3']) expect(run('verify', '--threads', threads).stdout).toBe(broken.stdout);
    expect(run('verify', '--stream', streams[1]!).status).toBe(0);
    expect(run('verify', '--digest', digest).status).toBe(1);
  });
});
