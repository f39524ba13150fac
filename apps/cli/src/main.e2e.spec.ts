import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The binary `npm ci` links for `npx herald` (the workspace apps/cli), run on the build
// `npm test` makes first.
const herald = fileURLToPath(new URL('../../../node_modules/.bin/herald', import.meta.url));
const run = (...args: string[]) => spawnSync(herald, args, { encoding: 'utf8', timeout: 60_000 });

describe('the herald command line', () => {
  it('prints its usage with --help and exits 0', () => {
    const result = run('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: herald/);
  });

  it('refuses an unknown option with exit code 2 and a hint on stderr, printing nothing on stdout', () => {
    const result = run('--no-such-option');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--no-such-option'/);
    expect(result.stderr).toMatch(/--help/);
    expect(result.stdout).toBe('');
  });
});
