/**
 * The PostgreSQL a command works on, found the way Herald finds it: DATABASE_URL when set;
 * otherwise the embedded server of HERALD_DATA_DIR — the one a running `npm start` owns, or,
 * when Herald is not running, one the command starts on that directory and stops when done.
 */
import { ConfigError, configFromProcess, type HeraldConfig } from '@herald/config';
import { runningEmbeddedPostgresUrl, startEmbeddedPostgres } from '@herald/database';
import {
  openConfiguredEventStore,
  openEventStore,
  type EventStore,
  type PostgresEventStoreOptions,
} from '@herald/event-store';
import { CliError, EXIT } from './cli-error.js';

export interface CliDatabase {
  readonly url: string;
  readonly config: HeraldConfig;
  close(): Promise<void>;
}

export function loadConfig(): HeraldConfig {
  try {
    return configFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, EXIT.usage);
    throw error;
  }
}

export async function openDatabase(say: (line: string) => void = () => undefined): Promise<CliDatabase> {
  const config = loadConfig();
  if (config.databaseUrl) return { url: config.databaseUrl, config, close: () => Promise.resolve() };
  const running = await runningEmbeddedPostgresUrl(config.dataDir);
  if (running) return { url: running, config, close: () => Promise.resolve() };
  say(`starting the embedded PostgreSQL in ${config.dataDir} (Herald is not running)`);
  const server = await startEmbeddedPostgres({ dataDir: config.dataDir, port: 0 });
  return { url: server.url, config, close: () => server.stop() };
}

/** Runs `work` on the database and always lets go of it (and of a server it started). */
export async function withDatabase<T>(
  work: (database: CliDatabase) => Promise<T>,
  say?: (line: string) => void,
): Promise<T> {
  const database = await openDatabase(say);
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/**
 * Runs `work` on the event store the configuration names (EVENT_STORE): EventStoreDB at its
 * URL (no PostgreSQL needed), or the PostgreSQL above, its event tables migrated first.
 */
export async function withEventStore<T>(
  work: (store: EventStore) => Promise<T>,
  say?: (line: string) => void,
  postgres: Pick<PostgresEventStoreOptions, 'auditReads'> = {},
): Promise<T> {
  const run = async (store: EventStore): Promise<T> => {
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };
  const config = loadConfig();
  if (config.eventStore.kind === 'eventstoredb') {
    return run(await openEventStore({ kind: 'eventstoredb', connectionString: config.eventStore.url }));
  }
  return withDatabase(
    async ({ url }) => run(await openConfiguredEventStore(config, url, { poolSize: 2, ...postgres })),
    say,
  );
}
