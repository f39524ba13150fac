import swc from 'unplugin-swc';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // SWC, not esbuild: Nest's dependency injection needs decorator metadata.
  plugins: [swc.vite({ swcrc: false, module: { type: 'es6' } })],
  resolve: {
    alias: {
      '@herald/config': at('./libs/config/src/index.ts'),
      '@herald/database': at('./libs/database/src/index.ts'),
      '@herald/event-store': at('./libs/event-store/src/index.ts'),
      '@herald/projection-runtime': at('./libs/projection-runtime/src/index.ts'),
      '@herald/testing': at('./libs/testing/src/index.ts'),
      '@herald/nest': at('./libs/nest/src/index.ts'),
      '@herald/events': at('./events/src/index.ts'),
      '@herald/projections': at('./projections/src/index.ts'),
    },
  },
  test: {
    include: ['{apps,libs,events,projections}/**/*.spec.ts'],
    globalSetup: ['./libs/testing/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
