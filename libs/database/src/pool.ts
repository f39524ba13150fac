/**
 * PostgreSQL connection pools and schema migrations, shared by the event store adapter
 * and the projection runtime.
 */
import pg from 'pg';

export interface PoolOptions {
  readonly connectionString: string;
  readonly max?: number;
  readonly applicationName?: string;
  /** Reported when an idle connection breaks; the pool replaces it on next use. */
  readonly onError?: (error: Error) => void;
}

/**
 * A transaction left idle holds back the visibility horizon of every event-log follower
 * (see the event store adapter), so no session may sit idle inside one for long.
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * The connections of read models (projections, their checkpoints). They never write the
 * event log (the log refuses them), so the visibility horizon does not wait for their
 * transactions: a projection's batch does not hold back push and the other followers.
 */
export const READ_MODEL_APPLICATION_NAME = 'herald-read-models';

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'herald',
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

/**
 * Runs `work` on a client of the pool and gives it back. While a client is checked out
 * the pool does not listen for its errors: a connection lost mid-query would be an
 * unhandled 'error' event and end the process. The failed query rejects too, which is how
 * `work` sees it; a client whose connection broke is destroyed rather than reused.
 */
export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken = error;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    if (!broken && isConnectionError(error)) broken = error as Error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export interface Migration {
  /** Unique and ordered: `<owner>-<nnn>-<what>`. */
  readonly id: string;
  readonly sql: string;
}

/**
 * Applies the migrations not yet recorded, each in its own transaction, under an advisory
 * lock so that several processes starting at once do not race.
 */
export async function runMigrations(pool: pg.Pool, migrations: readonly Migration[]): Promise<string[]> {
  return withClient(pool, async (client) => {
    const applied: string[] = [];
    await client.query(`SELECT pg_advisory_lock(hashtext('herald.migrations'))`);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS herald_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query<{ id: string }>('SELECT id FROM herald_migrations')).rows.map((r) => r.id),
      );
      for (const migration of migrations) {
        if (done.has(migration.id)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO herald_migrations (id) VALUES ($1)', [migration.id]);
          await client.query('COMMIT');
          applied.push(migration.id);
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('herald.migrations'))`).catch(() => undefined);
    }
    return applied;
  });
}

/** Runs migrations on a short-lived connection of their own. */
export async function migrateDatabase(connectionString: string, migrations: readonly Migration[]): Promise<string[]> {
  const pool = createPool({ connectionString, max: 1, applicationName: 'herald-migrations' });
  try {
    return await runMigrations(pool, migrations);
  } finally {
    await pool.end();
  }
}

/** Node's socket errors when the server is not there (TCP, or a Unix socket that is gone). */
const NETWORK_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOENT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** The connection itself failed (as opposed to the statement): the client is unusable. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return NETWORK_ERRORS.has(code) || code.startsWith('08') || code.startsWith('57P');
  return /Connection terminated|Client has encountered a connection error|Connection ended/i.test(
    error instanceof Error ? error.message : '',
  );
}

/** Errors that mean "try again": connection trouble, serialization, deadlock, shutdown. */
export function isTransientPgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return (
      NETWORK_ERRORS.has(code) ||
      code.startsWith('08') || // SQLSTATE connection exception
      code === '40001' || // serialization failure
      code === '40P01' || // deadlock
      code === '57P01' || // admin shutdown
      code === '57P02' ||
      code === '57P03' || // cannot connect now
      // The server ended the session idle in a transaction (rolled back): after a pause
      // (SIGSTOP, a frozen VM) the timeout fires as soon as the server runs again, under
      // a transaction its client was still using. Found by the chaos run (a 500 instead of 503).
      code === '25P03' ||
      code === '53300' // too many connections
    );
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
    message,
  );
}
