/**
 * `npm run bench:chat`: messages sent over REST and pushed over WebSocket, end to end. This
 * process is the load generator; Herald runs as its own process (`dist/apps/api/src/main.js`,
 * as `npm start` runs it) on an embedded PostgreSQL (or DATABASE_URL), all on this machine.
 *
 * Setup (not measured): BENCH_USERS users (2,000) in groups of 10, and one big group of
 * BENCH_BIG_GROUP members (5,000): every user plus members who are never connected, so the
 * big group's fan-out also pays for offline members' inboxes. Users and groups are written
 * through the identity and conversation services, with one precomputed argon2id hash for
 * every password (sign-up cost is not what this measures). Every user connects one
 * WebSocket client and syncs its two groups.
 *
 * Per run: sends paced at BENCH_RATE per second (5,000) for BENCH_SECONDS (20), by random
 * members, to their small group, and BENCH_BIG_RATE per second (5) of them to the big
 * group; at most BENCH_IN_FLIGHT requests wait at once (beyond, a send is dropped and
 * counted as not sent). Latency is from just before the request is written to a client
 * receiving the pushed event, for every connected member including the sender's own
 * socket. sends/s counts answered sends in the window, pushes/s event frames received in
 * the window. Peak RSS is the server's highest resident set sampled during the run. CPU is
 * given per process: the server, every PostgreSQL process, the load generator, and the machine.
 *
 * Baseline, in the same go: the same load generator against bench/chat-baseline.ts, a bare
 * node:http + ws server that only broadcasts (the transport's ceiling on this machine).
 * The last line is one JSON object with Herald's median headline figures.
 *
 * Offline notifications, in the same go (bench/chat-notifications.ts): half the members of
 * each small group offline with a webhook device at an endpoint in this process, sends
 * paced at BENCH_NOTIFY_RATE (1,400/s) to small groups: notificationsPerSec.
 *
 * Environment: BENCH_RUNS (3), BENCH_USERS, BENCH_BIG_GROUP, BENCH_RATE, BENCH_BIG_RATE,
 * BENCH_SECONDS, BENCH_IN_FLIGHT (1000), BENCH_SKIP_BASELINE, BENCH_PROJECTOR (run the
 * projections in a second Herald process, the measured one standing by), BENCH_SPLIT (then,
 * in the same go, Herald scaled out: two API processes with RUN_PROJECTIONS=false and
 * apps/projector; the ratio of the two is printed), BENCH_SERVER_NODE_ARGS (for
 * profiling the server, e.g. `--cpu-prof --cpu-prof-dir=/tmp/profiles`), DATABASE_URL,
 * BENCH_NOTIFY_RATE, BENCH_SKIP_NOTIFY, BENCH_ONLY_NOTIFY (the notification run alone).
 */
import { type CommandContext } from '@herald/commands';
import { ConversationService } from '@herald/conversations';
import { PostgresEventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { AccessTokens, hashPassword, IdentityService } from '@herald/identity';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { WebSocket } from 'ws';
import { measureNotifications, webhookEndpoint, type NotificationFigures } from './chat-notifications.js';
import { benchDatabase, freePort, machine, report, round } from './report.js';

const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 3);
const USERS = Number(env.BENCH_USERS ?? 2_000);
const GROUP_SIZE = 10;
const BIG_GROUP = Number(env.BENCH_BIG_GROUP ?? 5_000);
const RATE = Number(env.BENCH_RATE ?? 5_000);
const BIG_RATE = Number(env.BENCH_BIG_RATE ?? 5);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const IN_FLIGHT = Number(env.BENCH_IN_FLIGHT ?? 1_000);
const DRAIN_MS = 5_000;
const TEXT_MARK = '"text":"bench ';
const NOTIFY_RATE = Number(env.BENCH_NOTIFY_RATE ?? 1_400);
const ONLY_NOTIFY = Boolean(env.BENCH_ONLY_NOTIFY);

type RunFigures = {
  sendsPerSec: number;
  sendToPushP50Ms: number;
  sendToPushP99Ms: number;
  sendAnsweredP50Ms: number;
  sendAnsweredP99Ms: number;
  pushesPerSec: number;
  peakRssMb: number;
  notSent: number;
  failedSends: number;
  missingPushes: number;
  serverCpuPct: number;
  databaseCpuPct: number;
  loadGeneratorCpuPct: number;
  machineCpuPct: number;
  /** Rows of the event log PostgreSQL read by sequential scan, per second of the run. */
  logSeqScanRowsPerSec: number;
  /** The same for the read models' tables. */
  readModelSeqScanRowsPerSec: number;
};

/** Rows read by sequential scans so far: of the event log, and of the read models' tables. */
async function seqScanRows(databaseUrl: string): Promise<{ log: number; readModels: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ log: string; read_models: string }>(
      `SELECT coalesce(sum(seq_tup_read) FILTER (WHERE relname = 'herald_events'), 0)::text AS log,
              coalesce(sum(seq_tup_read) FILTER (WHERE relname LIKE 'rm\\_%'), 0)::text AS read_models
         FROM pg_stat_user_tables`,
    );
    return { log: Number(rows[0]!.log), readModels: Number(rows[0]!.read_models) };
  } finally {
    await client.end();
  }
}

interface Member {
  readonly userId: string;
  readonly token: string;
}
interface Group {
  readonly id: string;
  readonly members: readonly Member[];
  seq: number;
}
interface World {
  readonly users: readonly Member[];
  readonly small: readonly Group[];
  readonly big: Group;
}

// ---------------------------------------------------------------- setup

async function seed(databaseUrl: string, jwtSecret: string): Promise<World> {
  const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 16 });
  await store.migrate();
  const passwordHash = await hashPassword('bench password');
  const identity = new IdentityService(store, new AccessTokens(jwtSecret, 3_600), 86_400, () =>
    Promise.resolve(passwordHash),
  );
  const conversations = new ConversationService(store);
  const context = (actorId: string): CommandContext => ({ actorId, correlationId: randomUUID(), now: new Date() });

  const total = Math.max(USERS, BIG_GROUP);
  const tag = randomBytes(3).toString('hex');
  const users = await inBatches(
    Array.from({ length: total }, (_, i) => i),
    64,
    async (i) => {
      const tokens = await identity.register(
        { username: `bench${tag}${i}`, password: 'bench password', displayName: `Bench ${i}` },
        { correlationId: randomUUID(), now: new Date(), ip: '127.0.0.1' },
      );
      return { userId: tokens.userId, token: tokens.accessToken };
    },
  );

  const create = async (members: readonly Member[], name: string): Promise<Group> => {
    const id = randomUUID();
    const [owner, ...rest] = members;
    const first = rest.slice(0, 999);
    let outcome = await conversations.execute(
      id,
      { type: 'CreateGroup', conversationId: id, actorId: owner!.userId, name, memberIds: first.map((m) => m.userId) },
      context(owner!.userId),
    );
    if (rest.length > first.length) {
      const linkHash = createHash('sha256').update(randomBytes(32)).digest('hex');
      await conversations.execute(
        id,
        { type: 'CreateInvitationLink', actorId: owner!.userId, linkHash },
        context(owner!.userId),
      );
      const joined = await Promise.all(
        rest
          .slice(first.length)
          .map((m) =>
            conversations.execute(id, { type: 'JoinViaLink', actorId: m.userId, linkHash }, context(m.userId)),
          ),
      );
      outcome = joined.reduce((a, b) => (b.seq > a.seq ? b : a));
    }
    return { id, members, seq: outcome.seq };
  };
  const connected = users.slice(0, USERS);
  const small = await inBatches(
    Array.from({ length: Math.ceil(USERS / GROUP_SIZE) }, (_, g) => g),
    16,
    (g) => create(connected.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE), `Group ${g}`),
  );
  const big = await create(users.slice(0, BIG_GROUP), 'Everyone');
  await store.close();
  return { users: connected, small, big };
}

async function inBatches<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

/** Starts a server process and waits until `ready` answers true. */
async function startServer(
  script: string,
  serverEnv: Record<string, string>,
  ready: () => Promise<boolean>,
): Promise<ChildProcess> {
  const nodeArgs = env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...env, ...serverEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    if (await ready().catch(() => false)) return child;
    await sleep(250);
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not get ready`);
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

async function herald(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  if (!response.ok) return false;
  const health = (await response.json()) as { status: string; projections: { lag: number | null }[] };
  return health.status === 'ok' && health.projections.every((p) => p.lag === 0);
}

// ---------------------------------------------------------------- load generator

class Load {
  private readonly agent: Agent;
  private readonly sockets: WebSocket[] = [];
  /** Send start times (performance.now()) by send number; pushes find theirs in the text. */
  private sentAt = new Float64Array(0);
  private expected = new Uint32Array(0);
  private received = new Uint32Array(0);
  /** Latency histogram in 0.1 ms buckets. */
  private histogram = new Uint32Array(600_000);
  /** The same for send → HTTP answer. */
  private answers = new Uint32Array(600_000);
  private pushesInWindow = 0;
  private counting = false;

  /** Sockets and sends are spread over these ports (one per API process), in turn. */
  private readonly ports: readonly number[];
  private opened = 0;

  constructor(
    ports: number | readonly number[],
    private readonly world: World,
  ) {
    this.ports = typeof ports === 'number' ? [ports] : ports;
    this.agent = new Agent({ keepAlive: true, maxSockets: 256 });
  }

  async connect(): Promise<void> {
    const bigMembers = new Set(this.world.big.members.map((m) => m.userId));
    const synced: Promise<void>[] = [];
    for (const [index, group] of this.world.small.entries()) {
      for (const member of group.members) {
        const conversations: Record<string, number> = { [group.id]: group.seq };
        if (bigMembers.has(member.userId)) conversations[this.world.big.id] = this.world.big.seq;
        synced.push(this.open(member, conversations));
      }
      if (index % 10 === 9) await Promise.all(synced.slice(-100));
    }
    await Promise.all(synced);
  }

  private open(member: Member, conversations: Record<string, number>): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${this.ports[this.opened++ % this.ports.length]}/ws`, {
        headers: { authorization: `Bearer ${member.token}` },
        perMessageDeflate: false,
      });
      let waiting = Object.keys(conversations).length;
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'sync', conversations })));
      socket.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        const mark = text.indexOf(TEXT_MARK);
        if (mark >= 0) return this.pushed(text, mark + TEXT_MARK.length);
        if (text.startsWith('{"type":"synced"') && --waiting === 0) resolve();
        else if (!text.startsWith('{"type":"synced"')) reject(new Error(`unexpected frame: ${text.slice(0, 200)}`));
      });
      this.sockets.push(socket);
    });
  }

  private pushed(text: string, at: number): void {
    const n = Number.parseInt(text.slice(at, at + 12), 10);
    record(this.histogram, performance.now() - this.sentAt[n]!);
    this.received[n]!++;
    if (this.counting) this.pushesInWindow++;
  }

  async run(
    serverPids: readonly number[],
  ): Promise<Omit<RunFigures, 'logSeqScanRowsPerSec' | 'readModelSeqScanRowsPerSec'>> {
    const total = Math.ceil((RATE + BIG_RATE) * SECONDS * 1.05) + 10;
    this.sentAt = new Float64Array(total);
    this.expected = new Uint32Array(total);
    this.received = new Uint32Array(total);
    this.histogram.fill(0);
    this.answers.fill(0);
    this.pushesInWindow = 0;
    let sent = 0;
    let answered = 0;
    let failed = 0;
    let notSent = 0;
    let inFlight = 0;
    let peakRss = 0;
    const smallMembers = GROUP_SIZE;
    const bigShare = BIG_RATE / (RATE + BIG_RATE);

    const send = (n: number): void => {
      const big = Math.random() < bigShare;
      const group = big ? this.world.big : this.world.small[Math.floor(Math.random() * this.world.small.length)]!;
      const connectedMembers = big
        ? Math.min(USERS, group.members.length)
        : Math.min(smallMembers, group.members.length);
      const sender = group.members[Math.floor(Math.random() * connectedMembers)]!;
      const body = JSON.stringify({
        clientMessageId: `b${n}-${randomUUID()}`,
        text: `bench ${n} the quick brown fox jumps over the lazy dog`,
      });
      this.expected[n] = connectedMembers;
      inFlight++;
      this.sentAt[n] = performance.now();
      const req = request(
        {
          agent: this.agent,
          host: '127.0.0.1',
          port: this.ports[n % this.ports.length],
          method: 'POST',
          path: `/conversations/${group.id}/messages`,
          headers: {
            authorization: `Bearer ${sender.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            inFlight--;
            record(this.answers, performance.now() - this.sentAt[n]!);
            if (response.statusCode === 201 || response.statusCode === 200) {
              if (this.counting) answered++;
            } else {
              failed++;
            }
          });
        },
      );
      req.on('error', () => {
        inFlight--;
        failed++;
      });
      req.end(body);
    };

    const serverTicks = (): number => serverPids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
    const cpuBefore = serverTicks();
    const databaseBefore = databaseTicks();
    const loadBefore = process.cpuUsage();
    const machineBefore = machineTicks();
    const start = performance.now();
    this.counting = true;
    const rss = setInterval(
      () =>
        (peakRss = Math.max(
          peakRss,
          serverPids.reduce((sum, pid) => sum + rssMb(pid), 0),
        )),
      200,
    );
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = (performance.now() - start) / 1000;
        if (elapsed >= SECONDS) {
          clearInterval(tick);
          resolve();
          return;
        }
        const due = Math.floor(elapsed * (RATE + BIG_RATE));
        while (sent < due) {
          if (inFlight >= IN_FLIGHT) notSent++;
          else send(sent);
          sent++;
        }
      }, 2);
    });
    this.counting = false;
    const cpu = serverTicks() - cpuBefore;
    const database = databaseTicks() - databaseBefore;
    const load = process.cpuUsage(loadBefore);
    const machineNow = machineTicks();
    const seconds = (performance.now() - start) / 1000;
    const deadline = Date.now() + DRAIN_MS;
    const missing = (): number => {
      let m = 0;
      for (let n = 0; n < sent; n++) if (this.sentAt[n]) m += this.expected[n]! - this.received[n]!;
      return m;
    };
    while ((inFlight > 0 || missing() > 0) && Date.now() < deadline) await sleep(100);
    clearInterval(rss);
    return {
      sendsPerSec: round(answered / seconds),
      sendToPushP50Ms: percentile(this.histogram, 50),
      sendToPushP99Ms: percentile(this.histogram, 99),
      sendAnsweredP50Ms: percentile(this.answers, 50),
      sendAnsweredP99Ms: percentile(this.answers, 99),
      pushesPerSec: round(this.pushesInWindow / seconds),
      peakRssMb: round(peakRss),
      notSent,
      failedSends: failed,
      missingPushes: missing(),
      serverCpuPct: round((cpu / 100 / seconds) * 100),
      databaseCpuPct: round((database / 100 / seconds) * 100),
      loadGeneratorCpuPct: round(((load.user + load.system) / 1e6 / seconds) * 100),
      machineCpuPct: round(
        ((machineNow.busy - machineBefore.busy) / (machineNow.total - machineBefore.total)) * 100 * cpus().length,
      ),
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.close();
          }),
      ),
    );
    this.agent.destroy();
  }
}

/** Latencies in 0.1 ms buckets: a run has a million of them. */
function record(histogram: Uint32Array, ms: number): void {
  histogram[Math.min(histogram.length - 1, Math.round(ms * 10))]!++;
}

function percentile(histogram: Uint32Array, p: number): number {
  let total = 0;
  for (const count of histogram) total += count;
  const rank = Math.ceil((total * p) / 100);
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return round(bucket / 10, 1);
  }
  return Number.NaN;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Busy and total clock ticks of every core (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3]! + fields[4]!;
  return { busy: total - idle, total };
}

/** utime + stime of a process, in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The same for every PostgreSQL process on the machine (the benchmark's database is the only
 * one running). A backend that exits within the run takes its ticks with it: the pools
 * keep theirs open.
 */
function databaseTicks(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') ticks += cpuTicks(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return ticks;
}

async function measure(
  label: string,
  ports: number | readonly number[],
  servers: ChildProcess | readonly ChildProcess[],
  world: World,
  databaseUrl: string,
): Promise<RunFigures> {
  const load = new Load(ports, world);
  const pids = (Array.isArray(servers) ? servers : [servers]).map((s: ChildProcess) => s.pid!);
  await load.connect();
  const runs: RunFigures[] = [];
  for (let r = 0; r < RUNS; r++) {
    const before = await seqScanRows(databaseUrl);
    const figures = await load.run(pids);
    // PostgreSQL publishes a backend's counters at most once a second.
    await sleep(2_000);
    const after = await seqScanRows(databaseUrl);
    runs.push({
      ...figures,
      logSeqScanRowsPerSec: round((after.log - before.log) / SECONDS),
      readModelSeqScanRowsPerSec: round((after.readModels - before.readModels) / SECONDS),
    });
  }
  await load.close();
  console.log(`\n${label}`);
  return report(runs);
}

/**
 * BENCH_SPLIT: Herald scaled out on this machine, in the same go, on the same world: the
 * read models in apps/projector, the clients and sends spread over two API processes with
 * RUN_PROJECTIONS=false. Server CPU and peak RSS are the three processes' sums.
 */
async function measureSplit(
  world: World,
  databaseUrl: string,
  heraldEnv: (port: number) => Record<string, string>,
): Promise<RunFigures> {
  // The world moved on in the first go: every socket syncs from its conversation's head now.
  const store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 8 });
  for (const group of [...world.small, world.big]) {
    group.seq = (await store.getStreamInfo(streamIdOf('conversation', group.id))).revision;
  }
  await store.close();
  const [projectorPort, port1, port2] = [await freePort(), await freePort(), await freePort()];
  const dist = (app: string): string => new URL(`../apps/${app}/src/main.js`, import.meta.url).pathname;
  const projector = await startServer(dist('projector'), heraldEnv(projectorPort), async () => {
    const response = await fetch(`http://127.0.0.1:${projectorPort}/health`);
    const health = (await response.json()) as { status: string; projections: { lag: number | null }[] };
    return health.status === 'ok' && health.projections.every((p) => p.lag === 0);
  });
  const apis: ChildProcess[] = [];
  try {
    for (const port of [port1, port2]) {
      apis.push(await startServer(dist('api'), { ...heraldEnv(port), RUN_PROJECTIONS: 'false' }, () => herald(port)));
    }
    return await measure(
      'Herald split: 2 API processes (RUN_PROJECTIONS=false) + apps/projector',
      [port1, port2],
      [...apis, projector],
      world,
      databaseUrl,
    );
  } finally {
    for (const api of apis) await stopServer(api);
    await stopServer(projector);
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `${USERS} users in groups of ${GROUP_SIZE} plus one group of ${BIG_GROUP}; ${RATE} sends/s to small groups and ${BIG_RATE}/s to the big one, ${SECONDS} s per run, ${RUNS} runs`,
  );
  const database = await benchDatabase(env.DATABASE_URL);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-chat-'));
  const jwtSecret = randomBytes(32).toString('hex');
  try {
    const began = performance.now();
    const world = await seed(database.url, jwtSecret);
    console.log(`seeded in ${round((performance.now() - began) / 1000, 1)} s`);

    let baseline: RunFigures | undefined;
    if (!env.BENCH_SKIP_BASELINE && !ONLY_NOTIFY) {
      const port = await freePort();
      const server = await startServer(
        new URL('./chat-baseline.js', import.meta.url).pathname,
        { PORT: String(port) },
        async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 404,
      );
      try {
        baseline = await measure('baseline: bare node:http + ws broadcast', port, server, world, database.url);
      } finally {
        await stopServer(server);
      }
    }

    const port = await freePort();
    let projectorPort = await freePort();
    while (projectorPort === port) projectorPort = await freePort();
    const main = new URL('../apps/api/src/main.js', import.meta.url).pathname;
    const endpoint = await webhookEndpoint(randomBytes(32).toString('hex'));
    const heraldEnv = (on: number): Record<string, string> => ({
      // The offline-notification run's bots: a webhook on loopback, every message notified.
      WEBHOOK_SECRET: endpoint.secret,
      WEBHOOK_ALLOWED_HOSTS: endpoint.host,
      NOTIFY_COLLAPSE_SECONDS: '0',
      PORT: String(on),
      DATABASE_URL: database.url,
      JWT_SECRET: jwtSecret,
      HERALD_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // Every client of the load generator comes from 127.0.0.1.
      RATE_LIMIT_IP_PER_SECOND: '100000',
    });
    // BENCH_PROJECTOR: a second Herald, started first, takes the projections' locks; the
    // measured one serves the clients with its projections on standby.
    const projector = env.BENCH_PROJECTOR
      ? await startServer(main, heraldEnv(projectorPort), () => herald(projectorPort))
      : undefined;
    const server = await startServer(main, heraldEnv(port), async () =>
      projector ? (await herald(projectorPort)) && (await fetch(`http://127.0.0.1:${port}/health`)).ok : herald(port),
    );
    let figures: RunFigures | undefined;
    let notifications: NotificationFigures | undefined;
    try {
      if (!ONLY_NOTIFY) figures = await measure('Herald', port, server, world, database.url);
      if (!env.BENCH_SKIP_NOTIFY) {
        const runs: NotificationFigures[] = [];
        for (let r = 0; r < RUNS; r++) {
          runs.push(
            await measureNotifications({
              port,
              groups: world.small,
              endpoint,
              rate: NOTIFY_RATE,
              seconds: SECONDS,
              drainMs: 30_000,
              cpuTicks: () => cpuTicks(server.pid!),
            }),
          );
          await sleep(2_000);
        }
        console.log(`\nOffline notifications (${NOTIFY_RATE} sends/s, half of each group offline with a webhook)`);
        notifications = report(runs);
        if (endpoint.badSignatures > 0) throw new Error(`${endpoint.badSignatures} webhook signatures did not check`);
      }
    } finally {
      await stopServer(server);
      if (projector) await stopServer(projector);
      await endpoint.close();
    }
    if (!figures) {
      console.log(JSON.stringify({ notificationsPerSec: notifications?.notificationsPerSec ?? null }));
      return;
    }
    if (baseline) {
      console.log(
        `\nHerald / baseline: sends ${round((figures.sendsPerSec / baseline.sendsPerSec) * 100)}%, pushes ${round((figures.pushesPerSec / baseline.pushesPerSec) * 100)}%`,
      );
    }
    let split: RunFigures | undefined;
    if (env.BENCH_SPLIT) {
      split = await measureSplit(world, database.url, heraldEnv);
      console.log(
        `\nsplit / one process: sends ${round((split.sendsPerSec / figures.sendsPerSec) * 100)}%, pushes ${round((split.pushesPerSec / figures.pushesPerSec) * 100)}%, send→push p99 ${split.sendToPushP99Ms} ms against ${figures.sendToPushP99Ms} ms, server CPU ${split.serverCpuPct}% against ${figures.serverCpuPct}%`,
      );
    }
    const { sendsPerSec, sendToPushP50Ms, sendToPushP99Ms, pushesPerSec, peakRssMb } = figures;
    const { serverCpuPct, databaseCpuPct, logSeqScanRowsPerSec, readModelSeqScanRowsPerSec } = figures;
    console.log(
      JSON.stringify({
        sendsPerSec,
        sendToPushP50Ms,
        sendToPushP99Ms,
        pushesPerSec,
        peakRssMb,
        serverCpuPct,
        databaseCpuPct,
        logSeqScanRowsPerSec,
        readModelSeqScanRowsPerSec,
        notificationsPerSec: notifications?.notificationsPerSec ?? null,
        ...(split
          ? {
              splitSendsPerSec: split.sendsPerSec,
              splitSendToPushP50Ms: split.sendToPushP50Ms,
              splitSendToPushP99Ms: split.sendToPushP99Ms,
              splitPushesPerSec: split.pushesPerSec,
              splitMissingPushes: split.missingPushes,
              splitFailedSends: split.failedSends,
              splitServerCpuPct: split.serverCpuPct,
              splitPeakRssMb: split.peakRssMb,
            }
          : {}),
      }),
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  }
}

await main();
