/** The search contract against PostgreSQL: always run (the suite's embedded server, created from scratch with LC_CTYPE C). */
import { migrateDatabase } from '@herald/database';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { freshDatabase } from '@herald/testing';
import type { DataSource } from 'typeorm';
import { afterAll } from 'vitest';
import { describeSearchContract } from './search.contract.js';
import { SEARCH_MIGRATIONS } from './search.migrations.js';
import { PostgresSearchIndex } from './search.postgres.js';

let db: DataSource | undefined;
afterAll(async () => {
  await db?.destroy();
});

describeSearchContract('PostgreSQL', async () => {
  const url = await freshDatabase();
  await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...SEARCH_MIGRATIONS]);
  db = await createReadModelDataSource({ url, poolSize: 2 }).initialize();
  return new PostgresSearchIndex(db, 'english');
});
