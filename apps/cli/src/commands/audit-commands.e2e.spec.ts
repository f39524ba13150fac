/**
 * `herald roles` and `herald export`, run as a user runs them (the built CLI, a process of
 * its own) against a database given by DATABASE_URL: what they print, what they write to
 * the users' streams and the audit stream, and their exit codes.
 */
import { PostgresEventStore, type RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { AccessTokens, IdentityService } from '@herald/identity';
import { freshDatabase, TEST_JWT_SECRET, uniqueId } from '@herald/testing';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../../../dist/apps/cli/src/main.js', import.meta.url));
let url: string;
let store: PostgresEventStore;
let identity: IdentityService;

const herald = (...args: string[]) =>
  spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DATABASE_URL: url },
    maxBuffer: 64 * 1024 * 1024,
  });

const register = async (name: string) => {
  const username = uniqueId(name).toLowerCase();
  const { userId } = await identity.register(
    { username, password: 'password-1', displayName: name },
    { correlationId: 'test', now: new Date() },
  );
  return { userId, username };
};

const roleEvents = async (userId: string): Promise<RecordedEvent[]> =>
  (await store.readStream(streamIdOf('user', userId))).filter((e) => e.type.startsWith('SystemRole'));

beforeAll(async () => {
  url = await freshDatabase();
  store = new PostgresEventStore({ connectionString: url, poolSize: 2 });
  await store.migrate();
  identity = new IdentityService(store, new AccessTokens(TEST_JWT_SECRET, 900), 3600, () =>
    Promise.resolve('$argon2id$test'),
  );
});
afterAll(async () => {
  await store.close();
});

describe('herald roles', () => {
  it('grants and revokes by user name or id, once, recording who did it; --as needs an operator', async () => {
    const alice = await register('alice');
    const olga = await register('olga');
    const osUser = `cli:${userInfo().username}`;

    const granted = herald('roles', 'grant', alice.username, 'auditor');
    expect(granted.status, granted.stderr).toBe(0);
    expect(granted.stdout).toContain(`granted auditor to ${alice.username} (${alice.userId}) as ${osUser}`);
    const again = herald('roles', 'grant', alice.userId, 'auditor');
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('nothing written');
    expect((await roleEvents(alice.userId)).map((e) => [e.type, e.data, e.metadata.actorId])).toEqual([
      ['SystemRoleGranted', { userId: alice.userId, role: 'auditor', by: osUser }, osUser],
    ]);

    // --as: only an operator may be named.
    const notOperator = herald('roles', 'revoke', alice.username, 'auditor', '--as', olga.username);
    expect(notOperator.status).toBe(1);
    expect(notOperator.stderr).toMatch(/is not an operator/);
    expect(herald('roles', 'grant', olga.username, 'operator').status).toBe(0);
    const revoked = herald('roles', 'revoke', alice.username, 'auditor', '--as', olga.username);
    expect(revoked.status, revoked.stderr).toBe(0);
    expect((await roleEvents(alice.userId)).map((e) => [e.type, e.metadata.actorId])).toEqual([
      ['SystemRoleGranted', osUser],
      ['SystemRoleRevoked', olga.userId],
    ]);
    const shown = herald('roles', 'show', olga.username);
    expect(shown.stdout).toBe('operator\n');

    const unknown = herald('roles', 'grant', 'nobody-here', 'auditor');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^herald: No user named "nobody-here"/);
    const badRole = herald('roles', 'grant', alice.username, 'king');
    expect(badRole.status).toBe(2);
    expect(badRole.stderr).toMatch(/Allowed choices are auditor, operator/);
  });
});

describe('herald export', () => {
  it('writes the log as NDJSON to a file or stdout with the filters of the audit API, and records the export', async () => {
    const bea = await register('bea');
    const all = herald('export');
    expect(all.status, all.stderr).toBe(0);
    const lines = all.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(5);
    const checkpoints = lines.map((l) => String(l.checkpoint));
    expect(checkpoints).toEqual([...checkpoints].sort());
    expect(all.stderr).toMatch(new RegExp(`exported ${lines.length} events`));

    const file = join(tmpdir(), `${uniqueId('export')}.ndjson`);
    const filtered = herald(
      'export',
      '--out',
      file,
      '--category',
      'user',
      '--actor',
      bea.userId,
      '--type',
      'UserRegistered',
    );
    expect(filtered.status, filtered.stderr).toBe(0);
    const written = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ streamId: streamIdOf('user', bea.userId), type: 'UserRegistered', revision: 0 });
    expect(filtered.stdout).toBe('');

    const ranged = herald('export', '--after', checkpoints[0]!, '--up-to', checkpoints[2]!);
    expect(
      ranged.stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { checkpoint: string }).checkpoint),
    ).toEqual(checkpoints.slice(1, 3));

    // Every export is in the audit stream, as the OS user who ran it.
    const trail = await store.readStream(streamIdOf('audit', 'cli'));
    expect(trail.map((e) => e.data)).toContainEqual({
      auditor: `cli:${userInfo().username}`,
      read: 'herald export',
      params: { category: 'user', actor: bea.userId, type: 'UserRegistered' },
    });

    const bad = herald('export', '--after', 'yesterday');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--after: a checkpoint/);
    expect(bad.stdout).toBe('');
    expect(herald('export', '--after', checkpoints[0]!, '--since', '2026-01-01T00:00:00Z').status).toBe(2);
  });

  it('has --help for every command', () => {
    for (const args of [['export'], ['roles'], ['roles', 'grant'], ['roles', 'revoke'], ['roles', 'show']]) {
      const help = herald(...args, '--help');
      expect(help.status, args.join(' ')).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^Usage: herald ${args.join(' ')}`));
    }
  });
});
