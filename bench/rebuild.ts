/**
 * `npm run bench:rebuild`: rebuilding each read model from position 0 (ADR 034), as
 * `herald projections rebuild` does, over a chat history of BENCH_EVENTS events (1,000,000;
 * bench/chat-history.ts: sends, edits, deletions, reactions, receipts, joins).
 *
 * On a fresh embedded PostgreSQL (or DATABASE_URL): the migrations, the history appended
 * (not measured), then for each read model of the registry, one after the other, a rebuild
 * beside its (empty, never projected) serving tables: the copy built from position 0 in
 * batches of REBUILD_BATCH_SIZE events, its deferred indexes, SET LOGGED and ANALYZE, the
 * catch-up of what came meanwhile (nothing here), and the switch. Reported per read model:
 * the events it applied (those its filter keeps), the seconds of the whole rebuild and of
 * its catch-up alone, and `rebuildPerSec`: the log's events over the whole rebuild's
 * seconds (how fast a rebuild crosses the log, the figure that says how long an operator
 * waits). The last line is one JSON object: `{ rebuildPerSec: { <readModel>: n, … } }`.
 *
 * Environment: BENCH_EVENTS (1000000), DATABASE_URL.
 */
import { configFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, START } from '@herald/event-store';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, rebuild } from '@herald/projection-runtime';
import { READ_MODELS, readModelMigrations, tablePrefix } from '@herald/projections';
import { seedChatHistory } from './chat-history.js';
import { benchDatabase, machine, round } from './report.js';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);

async function main(): Promise<void> {
  const config = configFromProcess();
  console.log(machine());
  const database = await benchDatabase(config.databaseUrl);
  const store = new PostgresEventStore({ connectionString: database.url, poolSize: 20 });
  try {
    await store.migrate();
    await migrateDatabase(database.url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
    const seeding = Date.now();
    let shown = 0;
    const seeded = await seedChatHistory(store, {
      events: EVENTS,
      onProgress: (n) => {
        if (n - shown >= 100_000) {
          shown = n;
          console.log(`seeded ${n} events`);
        }
      },
    });
    const logEvents = await store.countEventsAfter(START, Number.MAX_SAFE_INTEGER);
    console.log(`seeded ${seeded} events (${logEvents} in the log) in ${round((Date.now() - seeding) / 1000)} s`);
    const db = await createReadModelDataSource({ url: database.url, poolSize: 4 }).initialize();
    const rebuildPerSec: Record<string, number> = {};
    try {
      await db.query('VACUUM ANALYZE');
      for (const readModel of READ_MODELS) {
        const result = await rebuild(
          store,
          db,
          {
            projection: readModel.projection({ language: config.searchLanguage }),
            tablePrefix: tablePrefix(readModel),
          },
          { graceMs: 0 },
        );
        const seconds = result.totalMs / 1000;
        const key = readModel.name.split('.')[0]!;
        rebuildPerSec[key] = Math.round(logEvents / seconds);
        console.log(
          `${readModel.name}: ${result.applied} events applied; rebuild ${round(seconds, 2)} s ` +
            `(catch-up ${round(result.buildMs / 1000, 2)} s, ${Math.round(result.applied / (result.buildMs / 1000))} applied/s); ` +
            `${rebuildPerSec[key]} log events/s`,
        );
      }
    } finally {
      await db.destroy();
    }
    console.log(JSON.stringify({ rebuildPerSec }));
  } finally {
    await store.close();
    await database.stop();
  }
}

await main();
