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
  /** See {@link DatabaseTimeouts}; without them a call waits for as long as the server takes. */
  readonly timeouts?: DatabaseTimeouts;
}

/**
 * How long a serving pool waits for the server (README "What Herald survives"). A paused
 * server (SIGSTOP, a frozen VM, a stalled disk) accepts connections into its listen queue
 * and reads statements into its socket buffer, but answers nothing: without these a request
 * waits for as long as the pause lasts. Both are measured on the client, the only side
 * still running; PostgreSQL's own statement_timeout does not run while it is paused.
 */
export interface DatabaseTimeouts {
  /**
   * A statement without an answer after this fails ("Query read timeout") and its
   * connection is closed: what the server did with it is unknown, so the connection is
   * never used again, and the server rolls back whatever transaction it had open once it
   * notices (a COMMIT it had received may still be applied: callers answer 503, and a
   * retry of the same idempotent append finds it done).
   */
  readonly queryTimeoutMs: number;
  /** Waiting for a connection (a new one's handshake, or a free one of a full pool) fails after this. */
  readonly acquireTimeoutMs: number;
}

/** The message of pg's client-side statement timeout (query_timeout). */
const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/**
 * A pg client that closes its connection when a statement times out on its side. pg only
 * stops waiting: the statement stays in flight, the connection keeps waiting for its answer
 * (a paused server's, which may come seconds later), and the statements of whoever uses
 * the connection next queue behind it. A pool (pg-pool, TypeORM's) would hand that
 * connection out again; closed, it is dropped and replaced.
 */
export class ClosingOnTimeoutClient extends pg.Client {
  constructor(config?: pg.ClientConfig) {
    super(config);
    const wrapped = this.query.bind(this) as (...args: unknown[]) => unknown;
    // `query` has a promise form (TypeORM, withClient) and a callback form (pg-pool's
    // pool.query, which releases the client with the error, destroying it already).
    (this as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const result = wrapped(...args);
      if (result instanceof Promise) {
        result.catch((error: unknown) => {
          if (error instanceof Error && error.message === QUERY_TIMEOUT_MESSAGE) this.closeConnection();
        });
      }
      return result;
    };
  }

  private closeConnection(): void {
    const self = this as unknown as { _queryable: boolean; connection?: { stream?: { destroy(): void } } };
    // At once, before whoever awaited the statement releases the connection (this handler
    // was attached first, so it runs first): pg-pool drops a released client that is not
    // queryable. The socket's own close comes later.
    self._queryable = false;
    self.connection?.stream?.destroy();
  }
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
    keepAlive: true,
    ...poolTimeouts(options.timeouts),
  });
  // Without a listener an idle client's error (server restart) would crash the process.
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

/**
 * The pg (and pg-pool) options for {@link DatabaseTimeouts}; also what TypeORM's `extra`
 * takes for its pool. Without timeouts, only a connection attempt is bounded (10 s).
 */
export function poolTimeouts(timeouts: DatabaseTimeouts | undefined): {
  connectionTimeoutMillis: number;
  query_timeout?: number;
  Client?: typeof pg.Client;
} {
  if (!timeouts) return { connectionTimeoutMillis: 10_000 };
  return {
    connectionTimeoutMillis: timeouts.acquireTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    Client: ClosingOnTimeoutClient,
  };
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
  return /Connection terminated|Client has encountered a connection error|Connection ended|Query read timeout/i.test(
    error instanceof Error ? error.message : '',
  );
}

/**
 * A statement that ran past the client's timeout (`DATABASE_QUERY_TIMEOUT_MS`) or was
 * cancelled by the server's: a paused server, or a statement too big for the bound.
 */
export function isStatementTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '57014' || (error instanceof Error && error.message.includes(QUERY_TIMEOUT_MESSAGE));
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
      code === '57014' || // statement timeout (or a cancel)
      code.startsWith('53') || // insufficient resources: disk full, out of memory, too many connections
      code === '58030' // I/O error
    );
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|Query read timeout/i.test(
    message,
  );
}

/**
 * Why the database failed a call, when the reason is the database's state rather than the
 * call: `storage-full` when its disk is full (SQLSTATE 53100 disk_full, or the I/O errors
 * a full disk gives: "No space left on device"), `unavailable` for the transient failures
 * of {@link isTransientPgError} (unreachable, paused, restarting, overloaded). Looks through
 * `cause` and TypeORM's `driverError`. Undefined for anything else (a bug, a constraint).
 */
export function databaseFailure(error: unknown): 'storage-full' | 'unavailable' | undefined {
  let unavailable = false;
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const current = queue.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const { code, message, cause, driverError } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      driverError?: unknown;
    };
    if (code === '53100' || (typeof message === 'string' && /No space left on device/i.test(message))) {
      return 'storage-full';
    }
    if (isTransientPgError(current)) unavailable = true;
    queue.push(cause, driverError);
  }
  return unavailable ? 'unavailable' : undefined;
}
