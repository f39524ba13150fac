/**
 * Herald as a child process of the harness (`node dist/apps/api/src/main.js`, as `npm start`
 * runs it), on an embedded PostgreSQL whose data directory outlives each process, so that
 * `kill -9` is real and the next start finds what the last one left (its orphaned
 * postmaster, its WAL). Also: the postmaster's pid (postmaster.pid in the cluster
 * directory) and its processes, for the nemesis; RSS from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { History } from './history.js';

export interface HeraldOptions {
  readonly main: string;
  readonly dataDir: string;
  readonly port: number;
  readonly jwtSecret: string;
  readonly kafkaBrokers?: readonly string[];
  /** Herald's stdout and stderr are appended here. */
  readonly logFile: string;
  readonly history: History;
}

export class HeraldProcess {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  /** Exits the harness caused: not anomalies. */
  private expectingExit = false;

  constructor(private readonly options: HeraldOptions) {
    this.log = createWriteStream(options.logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  /** Starts Herald (unless it runs) and waits until /health/ready answers 200. */
  async start(timeoutMs = 120_000): Promise<void> {
    if (!this.running) this.spawn();
    await this.waitReady(timeoutMs);
  }

  spawn(): void {
    const o = this.options;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      PORT: String(o.port),
      HERALD_DATA_DIR: o.dataDir,
      EMBEDDED_POSTGRES_PORT: '0',
      JWT_SECRET: o.jwtSecret,
      LOG_LEVEL: 'warn',
      ACCESS_TOKEN_TTL_SECONDS: '86400',
      // Every client of the harness comes from 127.0.0.1.
      RATE_LIMIT_IP_PER_SECOND: '100000',
      RATE_LIMIT_USER_PER_SECOND: '1000',
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
    };
    if (o.kafkaBrokers) {
      Object.assign(env, {
        KAFKA_BROKERS: o.kafkaBrokers.join(','),
        KAFKA_CREATE_TOPICS: 'false',
        KAFKA_IDEMPOTENT: 'false',
        KAFKA_TOPIC_PARTITIONS: '4',
        KAFKA_REPLICATION_FACTOR: '1',
      });
    }
    const child = spawn(process.execPath, ['--enable-source-maps', o.main], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.expectingExit = false;
    this.child = child;
    child.stdout.pipe(this.log, { end: false });
    child.stderr.pipe(this.log, { end: false });
    o.history.add({ kind: 'server', at: o.history.now(), event: 'started', pid: child.pid });
    child.once('exit', (code, signal) => {
      o.history.add({
        kind: 'server',
        at: o.history.now(),
        event: 'exited',
        pid: child.pid,
        code,
        signal,
        expected: this.expectingExit,
      });
    });
  }

  /** Whether Herald exited without the harness asking (it then needs a restart). */
  get crashed(): boolean {
    return this.child !== undefined && !this.running && !this.expectingExit;
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child && !this.running)
        throw new Error(`Herald exited (${this.child.exitCode ?? this.child.signalCode})`);
      if (await this.ready()) return;
      await sleep(100);
    }
    throw new Error(`Herald did not get ready within ${timeoutMs} ms`);
  }

  async ready(): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return response.status === 200;
    } catch {
      return false;
    }
  }

  /** kill -9, and waits for the exit. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (Herald closes, then stops its PostgreSQL), SIGKILL after 60 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.expectingExit = true;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(60_000)]);
    if (this.running) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise((resolve) => this.log.end(resolve));
  }

  /** The embedded postmaster's pid, from postmaster.pid in the cluster directory. */
  postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.options.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The TCP port the embedded PostgreSQL listens on (postmaster.pid's fourth line). */
  postgresPort(): number | undefined {
    try {
      const port = Number(readFileSync(join(this.options.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]);
      return Number.isInteger(port) && port > 0 ? port : undefined;
    } catch {
      return undefined;
    }
  }

  databaseUrl(): string | undefined {
    const port = this.postgresPort();
    if (port === undefined) return undefined;
    const password = readFileSync(join(this.options.dataDir, 'pg-password'), 'utf8').trim();
    return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/herald`;
  }

  /** The postmaster and its children (backends, checkpointer, WAL writer, ...). */
  postgresPids(): number[] {
    const postmaster = this.postmasterPid();
    if (postmaster === undefined) return [];
    const pids = [postmaster];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        if (ppid === postmaster) pids.push(Number(entry));
      } catch {
        // Gone meanwhile.
      }
    }
    return pids;
  }

  /** Herald's resident set, in MiB. */
  rssMb(): number | undefined {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      return undefined;
    }
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function signal(pids: readonly number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      // Gone meanwhile.
    }
  }
}
