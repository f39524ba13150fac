/**
 * `herald verify`, `herald proof`, `herald export`, `herald roles` and `herald projections` when the events are in EventStoreDB: what needs the
 * seals (ranges, digests, proofs) is refused as a usage error naming why, never answered
 * "ok"; the chains (every stream's, or one) are read from the configured server. No server
 * runs here: the URL names a closed port, so those checks fail as unreachable (1). The
 * checks themselves are the port's, proven on a simulated server (eventstoredb-simulated.unit.spec.ts).
 */
import { streamIdOf } from '@herald/events';
import { testDatabaseUrl } from '@herald/testing';
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
/** The same, with the read models in the suite's PostgreSQL (as `herald projections` keeps them). */
const runWithReadModels = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      DATABASE_URL: testDatabaseUrl(),
      EVENT_STORE: 'eventstoredb',
      EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false',
    },
  });

describe('herald verify and herald proof on EventStoreDB', () => {
  it('refuses what needs the seals (exit 2, saying why) and checks the chains against the server (1 when unreachable)', () => {
    const digest = `herald-digest:v1:1:${'0'.repeat(16)}-${'0'.repeat(16)}:${'a'.repeat(64)}`;
    for (const args of [
      ['verify', '--from', `${'0'.repeat(16)}-${'0'.repeat(16)}`],
      ['verify', '--digest', digest],
    ]) {
      const refused = run(...args);
      expect(refused.status).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/EventStoreDB.*--digest and proofs need the seals.*PostgreSQL/);
    }
    const proof = run('proof', crypto.randomUUID());
    expect(proof.status).toBe(2);
    expect(proof.stderr).toMatch(/EventStoreDB.*proofs need the seals/);
    for (const args of [
      ['verify'],
      ['verify', '--json'],
      ['verify', '--stream', streamIdOf('conversation', crypto.randomUUID())],
    ]) {
      const unreachable = run(...args);
      expect(unreachable.status).toBe(1);
      expect(unreachable.stdout).toBe('');
      expect(unreachable.stderr).toMatch(/herald: EventStoreDB: .*UNAVAILABLE/);
    }
  });

  it('exports and keeps roles in the configured EventStoreDB, not in PostgreSQL (1 when it is unreachable, nothing written)', () => {
    // The export itself on EventStoreDB: export-eventstoredb.int.spec.ts (a simulated server).
    for (const args of [
      ['export', '--conversation', crypto.randomUUID()],
      ['roles', 'grant', 'alice', 'auditor'],
      ['roles', 'show', 'alice'],
    ]) {
      const unreachable = run(...args);
      expect(unreachable.status, args.join(' ')).toBe(1);
      expect(unreachable.stdout).toBe('');
      expect(unreachable.stderr).toMatch(/herald: EventStoreDB: .*UNAVAILABLE/);
    }
  });

  it('follows, rebuilds and checks the read models from the configured EventStoreDB, not PostgreSQL (1 when it is unreachable)', () => {
    for (const args of [
      ['projections', 'status'],
      ['projections', 'rebuild', 'directory.v1'],
      ['projections', 'check', 'directory.v1'],
    ]) {
      const unreachable = runWithReadModels(...args);
      expect(unreachable.status, args.join(' ')).toBe(1);
      expect(unreachable.stderr).toMatch(/herald: EventStoreDB: .*UNAVAILABLE/);
    }
  });
});
