/**
 * Starts one embedded PostgreSQL for the whole test run (or uses TEST_DATABASE_URL) and
 * hands its URL to every test file. Tests use fresh ids rather than truncating tables.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '@herald/database';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let server: RunningPostgres | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseUrl', given);
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'herald-test-'));
    server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
    project.provide('databaseUrl', server.url);
  }
  return async () => {
    await server?.stop();
  };
}
