import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = <T>(file: string): T =>
  JSON.parse(readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8')) as T;

describe('build tooling', () => {
  it('the build (.swcrc) resolves the same @herald aliases as the type checker (tsconfig.json)', () => {
    const ts = read<{ compilerOptions: { paths: Record<string, string[]> } }>('tsconfig.json').compilerOptions.paths;
    const swc = read<{ jsc: { paths: Record<string, string[]> } }>('.swcrc').jsc.paths;
    // @herald/testing, the read models' test helpers and the simulated EventStoreDB are for
    // tests only and are not built.
    const {
      '@herald/testing': _testing,
      '@herald/projections/testing': _projections,
      '@herald/event-store/testing': _simulated,
      ...built
    } = ts;
    expect(swc).toEqual(built);
  });
});
