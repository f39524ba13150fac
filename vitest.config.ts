import swc from 'unplugin-swc';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// The path aliases (@herald/...) come from tsconfig.json, their one source.
const tsconfig = JSON.parse(readFileSync(at('./tsconfig.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, [string]> };
};
// Longest first: Vite takes the first alias that matches as a prefix, and
// `@herald/projections` would otherwise catch `@herald/projections/testing`.
const alias = Object.entries(tsconfig.compilerOptions.paths)
  .sort(([a], [b]) => b.length - a.length)
  .map(([find, [target]]) => ({ find, replacement: at(`./${target}`) }));

export default defineConfig({
  // SWC, not esbuild: Nest's dependency injection needs decorator metadata.
  plugins: [swc.vite({ swcrc: false, module: { type: 'es6' } })],
  resolve: { alias },
  test: {
    include: ['{apps,libs,events,projections,examples,eslint,bench,deploy}/**/*.spec.ts'],
    globalSetup: ['./libs/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
