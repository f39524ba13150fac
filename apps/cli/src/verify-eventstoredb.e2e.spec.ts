/**
 * `herald verify` and `herald proof` when the events are in EventStoreDB: what needs the
 * seals (the whole log, ranges, digests, proofs) is refused as a usage error naming why,
 * never answered "ok"; one stream's chain is read from the configured server. No server
 * runs here: the URL names a closed port, so the stream check fails as unreachable (1).
 * The check itself is the port's, proven on a simulated server by the contract suite.
 */
import { streamIdOf } from '@herald/events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The build `npm test` makes first, as `npm run herald -- verify` runs it.
const main = fileURLToPath(new URL('../../../dist/apps/cli/src/main.js', import.meta.url));

const run = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false' },
  });

describe('herald verify and herald proof on EventStoreDB', () => {
  it('refuses what needs the seals (exit 2, saying why) and checks one stream against the server (1 when unreachable)', () => {
    for (const args of [
      ['verify'],
      ['verify', '--json'],
      ['verify', '--from', `${'0'.repeat(16)}-${'0'.repeat(16)}`],
    ]) {
      const refused = run(...args);
      expect(refused.status).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/EventStoreDB.*--stream <id>.*seals.*PostgreSQL/);
    }
    const proof = run('proof', crypto.randomUUID());
    expect(proof.status).toBe(2);
    expect(proof.stderr).toMatch(/EventStoreDB.*proofs need the seals/);
    const stream = run('verify', '--stream', streamIdOf('conversation', crypto.randomUUID()));
    expect(stream.status).toBe(1);
    expect(stream.stdout).toBe('');
    expect(stream.stderr).toMatch(/herald: EventStoreDB: .*UNAVAILABLE/);
  });
});
