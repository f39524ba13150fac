/**
 * `npm run bench:connections`: what an idle WebSocket costs Herald, and how fast a restarted
 * Herald takes all of them back. Herald runs as its own process (`dist/apps/api/src/main.js`,
 * as `npm start` runs it) on an embedded PostgreSQL (or DATABASE_URL); the clients are
 * BENCH_CLIENT_PROCESSES (4) forked processes (bench/connections-clients.ts), so that the
 * load generator does not hold every client in one event loop.
 *
 * Setup (not measured): BENCH_SOCKETS (20,000) distinct users, each with a session, and as
 * many groups of 10, so that every user is a member of 10 groups (group g holds the users
 * g, g + n/10, g + 2n/10, …), written straight to the event store through the identity and
 * conversation services (one precomputed argon2id hash for every password).
 *
 * Per run: Herald starts on the seeded world; once it is idle (projections caught up), its
 * memory is the baseline. Then clients open in steps (BENCH_STEPS, 5,000, 10,000 and the
 * last: as many as the process's file-descriptor limit leaves room for, up to
 * BENCH_SOCKETS), each a distinct user that sends one `sync` naming its 10 conversations at
 * the seq it has, and is sent `synced` for each; idle after that (they answer pings). After
 * each step the server's memory is taken again: RSS from /proc, and the V8 heap and
 * external memory after a full garbage collection, both asked of the server through its
 * inspector (activated by SIGUSR1 on a port given by `--inspect-port`, which does nothing
 * until then). Per socket = (step − baseline) ÷ sockets.
 *
 * Then the reconnect storm: Herald is stopped (SIGTERM: it closes every socket with 1001)
 * and started again; once it answers /health, every client reconnects at the same moment
 * and syncs from the seqs it has; a refused handshake is retried after its Retry-After with
 * jitter. reconnectAllMs runs from that moment until the last client was sent `synced`
 * for all of its conversations.
 *
 * Old and new in the same go: BENCH_OLD_DIST (e.g. /work/wt-old/dist, a build of the
 * code to compare with) runs on the same world, alternating run by run with this tree's
 * dist. The last line is one JSON object: this tree's medians.
 *
 * Duration on this machine (2 shared cores): about 5 minutes a run of the new code at
 * 19,870 sockets (seeding 25 s, opening 80 s, the storm about 130 s), 8 of the old code
 * (its storm runs into the clients' 180 s deadline): BENCH_RUNS=1 with BENCH_OLD_DIST is a
 * 13-minute go, the default 3 runs of the new code alone about 15.
 *
 * Environment: BENCH_RUNS (3), BENCH_SOCKETS, BENCH_STEPS, BENCH_CLIENT_PROCESSES,
 * BENCH_OLD_DIST, BENCH_SERVER_NODE_ARGS (for profiling the server, e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/profiles`), BENCH_HEAP_SNAPSHOTS (a directory: a heap snapshot of the
 * server at the baseline and at each step is written there, to see where the bytes go),
 * DATABASE_URL.
 */
import { ConversationService, type ConversationCommand } from '@herald/conversations';
import { PostgresEventStore } from '@herald/event-store';
import { AccessTokens, hashPassword, IdentityService } from '@herald/identity';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import type { BenchUser, FromClients, ToClients } from './connections-clients.js';
import { benchDatabase, freePort, inBatches, machine, report, round } from './report.js';

const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 3);
const SOCKETS = Math.ceil(Number(env.BENCH_SOCKETS ?? 20_000) / 10) * 10;
const STEPS = (env.BENCH_STEPS ?? '5000,10000').split(',').map(Number);
const CLIENT_PROCESSES = Number(env.BENCH_CLIENT_PROCESSES ?? 4);
const CONVERSATIONS_PER_USER = 10;
/** File descriptors Herald holds besides its sockets may grow (pool connections, files) by this many. */
const FD_RESERVE = 64;

type RunFigures = {
  sockets: number;
  rssPerSocketKb: number;
  heapPerSocketKb: number;
  heapTotalPerSocketKb: number;
  externalPerSocketKb: number;
  baselineRssMb: number;
  rssMb: number;
  reconnectAllMs: number;
  reconnectRefused: number;
  /** Syncs answered PUSH.UNAVAILABLE in the storm (the client reconnected and tried again). */
  reconnectUnavailable: number;
  /** Clients not synced again within the clients' deadline (then reconnectAllMs is that deadline). */
  reconnectFailed: number;
  reconnectPeakRssMb: number;
};

interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
  /** What V8 holds for its heap, used or not. */
  readonly heapTotal: number;
  readonly external: number;
}

// ---------------------------------------------------------------- setup

async function seed(databaseUrl: string, jwtSecret: string): Promise<BenchUser[]> {
  const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 16 });
  await store.migrate();
  const passwordHash = await hashPassword('bench password');
  const identity = new IdentityService(store, new AccessTokens(jwtSecret, 3_600), 86_400, () =>
    Promise.resolve(passwordHash),
  );
  const conversations = new ConversationService(store);
  const tag = randomBytes(3).toString('hex');
  const users = await inBatches(
    Array.from({ length: SOCKETS }, (_, i) => i),
    64,
    async (i) => {
      const tokens = await identity.register(
        { username: `conn${tag}${i}`, password: 'bench password', displayName: `Conn ${i}` },
        { correlationId: randomUUID(), now: new Date(), ip: '127.0.0.1' },
      );
      return { userId: tokens.userId, token: tokens.accessToken };
    },
  );
  // Group g: the users g + k·stride (k < 10), so user u is in the groups u − k·stride.
  const stride = SOCKETS / CONVERSATIONS_PER_USER;
  const members = (g: number): string[] =>
    Array.from({ length: CONVERSATIONS_PER_USER }, (_, k) => users[(g + k * stride) % SOCKETS]!.userId);
  const groups = await inBatches(
    Array.from({ length: SOCKETS }, (_, g) => g),
    32,
    async (g) => {
      const id = randomUUID();
      const [owner, ...rest] = members(g);
      const command: ConversationCommand = {
        type: 'CreateGroup',
        conversationId: id,
        actorId: owner!,
        name: `Group ${g}`,
        memberIds: rest,
      };
      const outcome = await conversations.execute(id, command, {
        actorId: owner!,
        correlationId: randomUUID(),
        now: new Date(),
      });
      return { id, seq: outcome.seq };
    },
  );
  await store.close();
  return users.map(({ token }, u) => {
    const synced: Record<string, number> = {};
    for (let k = 0; k < CONVERSATIONS_PER_USER; k++) {
      const group = groups[(((u - k * stride) % SOCKETS) + SOCKETS) % SOCKETS]!;
      synced[group.id] = group.seq;
    }
    return { token, conversations: synced };
  });
}

// ---------------------------------------------------------------- the server

interface Server {
  readonly child: ChildProcess;
  readonly inspectPort: number;
}

async function startServer(script: string, serverEnv: Record<string, string>, port: number): Promise<Server> {
  const began = performance.now();
  const inspectPort = await freePort();
  // `--inspect-port` only names the port SIGUSR1 opens the inspector on: nothing runs until then.
  const nodeArgs = env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, `--inspect-port=127.0.0.1:${inspectPort}`, script], {
    env: { ...env, ...serverEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    if (await healthy(port).catch(() => false)) {
      console.log(`  server ready in ${round((performance.now() - began) / 1000, 1)} s`);
      return { child, inspectPort };
    }
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not get ready`);
}

async function stopServer({ child }: Server): Promise<void> {
  if (child.exitCode !== null) return;
  const began = performance.now();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(60_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
  console.log(`  server stopped in ${round((performance.now() - began) / 1000, 1)} s`);
}

async function healthy(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  if (!response.ok) return false;
  const health = (await response.json()) as { status: string; projections: { lag: number | null }[] };
  return health.status === 'ok' && health.projections.every((p) => p.lag === 0);
}

/** The server's inspector: a full garbage collection, then process.memoryUsage(). */
class Inspector {
  private next = 1;
  private readonly pending = new Map<number, (result: unknown) => void>();

  /** Chunks of the heap snapshot being taken. */
  private chunks: string[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as {
        id?: number;
        result?: unknown;
        method?: string;
        params?: { chunk: string };
      };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') this.chunks.push(message.params!.chunk);
      if (message.id !== undefined) this.pending.get(message.id)?.(message.result);
    });
  }

  /** Writes a heap snapshot of the server to `path` (BENCH_HEAP_SNAPSHOTS: where the bytes go). */
  async snapshot(path: string): Promise<void> {
    this.chunks = [];
    await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    await writeFile(path, this.chunks.join(''));
    this.chunks = [];
  }

  static async open(server: Server): Promise<Inspector> {
    server.child.kill('SIGUSR1');
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        const targets = (await (await fetch(`http://127.0.0.1:${server.inspectPort}/json/list`)).json()) as {
          webSocketDebuggerUrl: string;
        }[];
        const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl, { perMessageDeflate: false });
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        return new Inspector(socket);
      } catch {
        await sleep(100);
      }
    }
    throw new Error('the server inspector did not open');
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  async memory(pid: number): Promise<Memory> {
    await this.call('HeapProfiler.enable');
    await this.call('HeapProfiler.collectGarbage');
    await sleep(500);
    const result = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(result.result.value) as { heapUsed: number; heapTotal: number; external: number };
    return { rss: rssBytes(pid), heapUsed: usage.heapUsed, heapTotal: usage.heapTotal, external: usage.external };
  }

  close(): void {
    this.socket.close();
  }
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** The process's soft limit of open files, and how many it has open. */
function fileDescriptors(pid: number): { limit: number; open: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const limit = Number(/Max open files\s+(\d+)/.exec(limits)?.[1] ?? 0);
  return { limit, open: readdirSync(`/proc/${pid}/fd`).length };
}

// ---------------------------------------------------------------- the load generator

class Clients {
  private readonly processes: ChildProcess[];
  private readonly answers = new Map<ChildProcess, (message: FromClients) => void>();

  constructor(count: number) {
    const script = new URL('./connections-clients.js', import.meta.url).pathname;
    this.processes = Array.from({ length: count }, () => {
      const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (message: FromClients) => this.answers.get(child)?.(message));
      return child;
    });
  }

  /** Sends each process its message, and resolves with their answers. */
  private ask(messages: (index: number) => ToClients): Promise<FromClients[]> {
    return Promise.all(
      this.processes.map(
        (child, index) =>
          new Promise<FromClients>((resolve) => {
            this.answers.set(child, resolve);
            child.send(messages(index));
          }),
      ),
    );
  }

  async open(port: number, users: readonly BenchUser[]): Promise<void> {
    const share = Math.ceil(users.length / this.processes.length);
    const answers = await this.ask((i) => ({ type: 'open', port, users: users.slice(i * share, (i + 1) * share) }));
    for (const answer of answers) {
      if (answer.type === 'opened' && answer.failed > 0) throw new Error(answer.error ?? 'clients failed to open');
    }
  }

  async reconnect(port: number): Promise<{ ms: number; refused: number; failed: number; unavailable: number }> {
    const answers = await this.ask(() => ({ type: 'reconnect', port }));
    let ms = 0;
    let refused = 0;
    let failed = 0;
    let unavailable = 0;
    for (const answer of answers) {
      if (answer.type !== 'reconnected') continue;
      failed += answer.failed;
      unavailable += answer.unavailable;
      ms = Math.max(ms, answer.ms);
      refused += answer.refused;
    }
    return { ms, refused, failed, unavailable };
  }

  async close(): Promise<void> {
    await this.ask(() => ({ type: 'close' }));
  }

  stop(): void {
    for (const child of this.processes) {
      child.kill();
      // The IPC channel would keep this process alive after the go.
      if (child.connected) child.disconnect();
    }
  }
}

// ---------------------------------------------------------------- a run

async function run(
  label: string,
  script: string,
  serverEnv: Record<string, string>,
  port: number,
  users: readonly BenchUser[],
  clients: Clients,
): Promise<RunFigures> {
  let server = await startServer(script, serverEnv, port);
  const pid = server.child.pid!;
  let inspector = await Inspector.open(server);
  try {
    await sleep(2_000);
    const baseline = await inspector.memory(pid);
    const snapshots = env.BENCH_HEAP_SNAPSHOTS;
    if (snapshots) await inspector.snapshot(join(snapshots, `${label.replaceAll(' ', '-')}-0.heapsnapshot`));
    const fds = fileDescriptors(pid);
    const top = Math.min(SOCKETS, Math.floor((fds.limit - fds.open - FD_RESERVE) / 10) * 10);
    const steps = [...STEPS.filter((step) => step < top), top];
    console.log(
      `${label}: baseline RSS ${mb(baseline.rss)} MB, heap ${mb(baseline.heapUsed)} MB, external ${mb(baseline.external)} MB; ` +
        `${fds.open} files open of ${fds.limit} (ulimit -n): up to ${top} sockets`,
    );
    let opened = 0;
    let last: Memory = baseline;
    for (const step of steps) {
      const began = performance.now();
      await clients.open(port, users.slice(opened, step));
      const openedIn = performance.now() - began;
      opened = step;
      await sleep(3_000);
      last = await inspector.memory(pid);
      if (snapshots) await inspector.snapshot(join(snapshots, `${label.replaceAll(' ', '-')}-${step}.heapsnapshot`));
      console.log(
        `  ${step} sockets (opened and synced in ${round(openedIn / 1000, 1)} s): RSS ${mb(last.rss)} MB, ` +
          `per socket: RSS ${kb((last.rss - baseline.rss) / step)} KB, heap ${kb((last.heapUsed - baseline.heapUsed) / step)} KB ` +
          `(V8 holds ${kb((last.heapTotal - baseline.heapTotal) / step)} KB), ` +
          `external ${kb((last.external - baseline.external) / step)} KB`,
      );
    }
    inspector.close();
    await stopServer(server);
    server = await startServer(script, serverEnv, port);
    inspector = await Inspector.open(server);
    let peakRss = 0;
    const sampling = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(server.child.pid!))), 100);
    const storm = await clients.reconnect(port);
    clearInterval(sampling);
    console.log(
      `  restarted: ${opened - storm.failed} of ${opened} sockets reconnected and synced in ${storm.ms} ms (${storm.refused} attempts refused and retried, of which ${storm.unavailable} syncs answered PUSH.UNAVAILABLE; ${storm.failed} not synced by the deadline), peak RSS ${mb(peakRss)} MB`,
    );
    await clients.close();
    return {
      sockets: opened,
      rssPerSocketKb: kb((last.rss - baseline.rss) / opened),
      heapPerSocketKb: kb((last.heapUsed - baseline.heapUsed) / opened),
      heapTotalPerSocketKb: kb((last.heapTotal - baseline.heapTotal) / opened),
      externalPerSocketKb: kb((last.external - baseline.external) / opened),
      baselineRssMb: mb(baseline.rss),
      rssMb: mb(last.rss),
      reconnectAllMs: storm.ms,
      reconnectRefused: storm.refused,
      reconnectUnavailable: storm.unavailable,
      reconnectFailed: storm.failed,
      reconnectPeakRssMb: mb(peakRss),
    };
  } finally {
    inspector.close();
    await stopServer(server);
  }
}

const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);
const kb = (bytes: number): number => round(bytes / 1024, 2);

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `${SOCKETS} users, each in ${CONVERSATIONS_PER_USER} groups of ${CONVERSATIONS_PER_USER}; steps ${STEPS.join(', ')} and the most the file limit allows; ${CLIENT_PROCESSES} client processes; ${RUNS} runs`,
  );
  const database = await benchDatabase(env.DATABASE_URL);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-connections-'));
  const jwtSecret = randomBytes(32).toString('hex');
  const clients = new Clients(CLIENT_PROCESSES);
  try {
    const began = performance.now();
    const users = await seed(database.url, jwtSecret);
    console.log(`seeded in ${round((performance.now() - began) / 1000, 1)} s`);
    const port = await freePort();
    const serverEnv: Record<string, string> = {
      PORT: String(port),
      DATABASE_URL: database.url,
      JWT_SECRET: jwtSecret,
      HERALD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // Every client of the load generator comes from 127.0.0.1.
      RATE_LIMIT_IP_PER_SECOND: '100000',
    };
    const builds: [string, string][] = [['new', new URL('../apps/api/src/main.js', import.meta.url).pathname]];
    if (env.BENCH_OLD_DIST) builds.unshift(['old', join(env.BENCH_OLD_DIST, 'apps/api/src/main.js')]);
    const runs = new Map<string, RunFigures[]>(builds.map(([name]) => [name, []]));
    for (let r = 0; r < RUNS; r++) {
      for (const [name, script] of builds) {
        runs.get(name)!.push(await run(`${name} run ${r + 1}`, script, serverEnv, port, users, clients));
      }
    }
    let figures: RunFigures | undefined;
    for (const [name] of builds) {
      console.log(`\n${name}`);
      figures = report(runs.get(name)!);
    }
    const { sockets, rssPerSocketKb, reconnectAllMs } = figures!;
    console.log(JSON.stringify({ sockets, rssPerSocketKb, reconnectAllMs }));
  } finally {
    clients.stop();
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  }
}

await main();
