/**
 * Where Herald's PostgreSQL comes from: the server named by DATABASE_URL, or an embedded
 * one under HERALD_DATA_DIR. Either way the caller gets a URL and a `stop`.
 */
import type { HeraldConfig } from '@herald/config';
import { startEmbeddedPostgres } from '@herald/database';
import type { JsonLogger } from '@herald/nest';
import pg from 'pg';

export interface Database {
  readonly url: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

export class DatabaseUnreachable extends Error {
  override name = 'DatabaseUnreachable';
}

/**
 * `onGiveUp`: the embedded server died more often than its restart budget allows (or did
 * not come back); the caller should exit non-zero so that its own supervisor takes over.
 */
export async function openDatabase(
  config: HeraldConfig,
  logger: JsonLogger,
  onGiveUp: (reason: string) => void,
): Promise<Database> {
  if (config.databaseUrl) {
    await waitForDatabase(config.databaseUrl, config.databaseConnectTimeoutMs, logger);
    return { url: config.databaseUrl, embedded: false, stop: () => Promise.resolve() };
  }
  logger.emit('info', `starting embedded PostgreSQL in ${config.dataDir}`, 'Database');
  const server = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPostgresPort,
    onLog: (line) => logger.emit('debug', line, 'EmbeddedPostgres'),
    // PostgreSQL is Herald's child here: nothing else would notice that it died.
    supervise: {
      onCrash: (reason) => logger.emit('error', reason, 'Database'),
      onShutdown: (reason) => logger.emit('warn', reason, 'Database'),
      onWaitingForSpace: (reason) => logger.emit('error', reason, 'Database'),
      onRestarted: (downMs) => logger.emit('info', `embedded PostgreSQL is back after ${downMs} ms`, 'Database'),
      onGiveUp,
    },
  });
  logger.emit('info', `embedded PostgreSQL ready on 127.0.0.1:${server.port}`, 'Database');
  return { url: server.url, embedded: true, stop: () => server.stop() };
}

/** Retries until the server answers or the timeout passes; names the host, never the password. */
async function waitForDatabase(url: string, timeoutMs: number, logger: JsonLogger): Promise<void> {
  const where = describeUrl(url);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (Date.now() >= deadline) {
        throw new DatabaseUnreachable(
          `cannot reach the database at ${where} (DATABASE_URL) after ${timeoutMs} ms: ${reason}`,
        );
      }
      logger.emit('warn', `database at ${where} not reachable (attempt ${attempt}): ${reason}; retrying`, 'Database');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
