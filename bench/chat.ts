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
 * Cost of a send (issue 17): after each run at saturation, a run at a fixed BENCH_FIXED_RATE
 * (1,000 sends/s) for BENCH_FIXED_SECONDS (10) gives p99 send→push at that rate, for Herald
 * and the baseline alike. cpuMsPerSend is Herald's process plus PostgreSQL in CPU-ms per
 * answered send at saturation. PostgreSQL's CPU counts every process of the benchmark's
 * server, backends that exited during the run included: the live processes' utime+stime plus
 * the postmaster's cutime+cstime (the reaped children's), differenced over the window.
 * otherCpuPct cross-checks it: machine CPU less the load generator, Herald and PostgreSQL
 * (near 0 on a quiet machine; other work on the machine shows there).
 *
 * `npm run bench:chat:small` (BENCH_SHAPE=small): the 200-user shape of issue 17 (20 groups of
 * 10, every member connected, no big group), runs at BENCH_RATES (200,1000) sends/s instead of
 * saturation, no notification run; the last line gives cpuMsPerSend200, cpuMsPerSend1000,
 * databaseCpuPct200, p50Ms200, p50Ms1000 (and p99s).
 *
 * BENCH_STATEMENTS=1 (embedded database only): PostgreSQL runs with pg_stat_statements, and
 * each run prints the statements it ran most, with calls and server time per second, and
 * those of an idle window (BENCH_IDLE_SECONDS, 10) before the first run.
 * BENCH_SERVER_DIST: another build's dist directory whose apps/api/src/main.js is the Herald
 * measured (an older commit, same go, same load generator).
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
import { startEmbeddedPostgres } from '@herald/database';
import { benchDatabase, freePort, inBatches, machine, report, round } from './report.js';

const env = process.env;
const SMALL = env.BENCH_SHAPE === 'small';
const RUNS = Number(env.BENCH_RUNS ?? 3);
const USERS = Number(env.BENCH_USERS ?? (SMALL ? 200 : 2_000));
const GROUP_SIZE = 10;
const BIG_GROUP = Number(env.BENCH_BIG_GROUP ?? (SMALL ? 2 : 5_000));
const RATE = Number(env.BENCH_RATE ?? 5_000);
const BIG_RATE = Number(env.BENCH_BIG_RATE ?? (SMALL ? 0 : 5));
/** The small shape's paced rates (sends/s), each measured RUNS times. */
const RATES = (env.BENCH_RATES ?? '200,1000').split(',').map(Number);
const FIXED_RATE = Number(env.BENCH_FIXED_RATE ?? 1_000);
const FIXED_SECONDS = Number(env.BENCH_FIXED_SECONDS ?? 10);
const IDLE_SECONDS = Number(env.BENCH_IDLE_SECONDS ?? 10);
const STATEMENTS = Boolean(env.BENCH_STATEMENTS);
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
  /** Every process of the benchmark's PostgreSQL, exited backends included. */
  databaseCpuPct: number;
  /** The old figure: the PostgreSQL processes alive at the end of the window only. */
  databaseLiveCpuPct: number;
  loadGeneratorCpuPct: number;
  machineCpuPct: number;
  /** Machine CPU not accounted for by the load generator, the server and PostgreSQL. */
  otherCpuPct: number;
  /** (Server + PostgreSQL) CPU-milliseconds per answered send. */
  cpuMsPerSend: number;
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
    postgres: Postgres,
    rate: number,
    seconds: number,
  ): Promise<Omit<RunFigures, 'logSeqScanRowsPerSec' | 'readModelSeqScanRowsPerSec'>> {
    const bigRate = rate === RATE ? BIG_RATE : (BIG_RATE * rate) / RATE;
    const total = Math.ceil((rate + bigRate) * seconds * 1.05) + 10;
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
    const bigShare = bigRate / (rate + bigRate);

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
    const databaseBefore = postgres.ticks();
    const liveBefore = postgres.liveTicks();
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
        if (elapsed >= seconds) {
          clearInterval(tick);
          resolve();
          return;
        }
        const due = Math.floor(elapsed * (rate + bigRate));
        while (sent < due) {
          if (inFlight >= IN_FLIGHT) notSent++;
          else send(sent);
          sent++;
        }
      }, 2);
    });
    this.counting = false;
    const cpu = serverTicks() - cpuBefore;
    const database = postgres.ticks() - databaseBefore;
    const live = postgres.liveTicks() - liveBefore;
    const load = process.cpuUsage(loadBefore);
    const machineNow = machineTicks();
    const window = (performance.now() - start) / 1000;
    const deadline = Date.now() + DRAIN_MS;
    const missing = (): number => {
      let m = 0;
      for (let n = 0; n < sent; n++) if (this.sentAt[n]) m += this.expected[n]! - this.received[n]!;
      return m;
    };
    while ((inFlight > 0 || missing() > 0) && Date.now() < deadline) await sleep(100);
    clearInterval(rss);
    const pct = (ticks: number): number => (ticks / TICKS_PER_SECOND / window) * 100;
    const loadPct = ((load.user + load.system) / 1e6 / window) * 100;
    const machinePct =
      ((machineNow.busy - machineBefore.busy) / (machineNow.total - machineBefore.total)) * 100 * cpus().length;
    return {
      sendsPerSec: round(answered / window),
      sendToPushP50Ms: percentile(this.histogram, 50),
      sendToPushP99Ms: percentile(this.histogram, 99),
      sendAnsweredP50Ms: percentile(this.answers, 50),
      sendAnsweredP99Ms: percentile(this.answers, 99),
      pushesPerSec: round(this.pushesInWindow / window),
      peakRssMb: round(peakRss),
      notSent,
      failedSends: failed,
      missingPushes: missing(),
      serverCpuPct: round(pct(cpu)),
      databaseCpuPct: round(pct(database)),
      databaseLiveCpuPct: round(pct(live)),
      loadGeneratorCpuPct: round(loadPct),
      machineCpuPct: round(machinePct),
      otherCpuPct: round(machinePct - loadPct - pct(cpu) - pct(database)),
      cpuMsPerSend: answered > 0 ? round((((cpu + database) / TICKS_PER_SECOND) * 1000) / answered, 3) : Number.NaN,
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

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime. */
function statFields(pid: number): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}

/** utime + stime of a process, in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const fields = statFields(pid);
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * The benchmark's PostgreSQL server, by its postmaster (the parent of a backend), so that
 * another server on the machine (a test suite's) does not count. `ticks()` counts every
 * process it ran: its live processes' utime+stime plus the postmaster's cutime+cstime, where
 * the kernel adds the times of each child it reaped. Differenced over a window, that counts
 * the backends that exited within it too (a pool closing an idle connection), which
 * `liveTicks()`, the live processes alone, misses.
 */
interface Postgres {
  ticks(): number;
  liveTicks(): number;
  /** Live processes' ticks by what they are (backend, walwriter, checkpointer, autovacuum ...). */
  ticksByKind(): Map<string, number>;
}

async function postgresOf(databaseUrl: string): Promise<Postgres> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  let postmaster: number;
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    // Read while the backend lives: it exits when this client ends.
    postmaster = Number(statFields(rows[0]!.pid)[1]);
  } finally {
    await client.end();
  }
  const children = (): number[] => {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (Number(statFields(Number(entry))[1]) === postmaster) pids.push(Number(entry));
      } catch {
        // The process ended meanwhile.
      }
    }
    return pids;
  };
  const liveTicks = (): number => {
    let ticks = cpuTicks(postmaster);
    for (const pid of children()) {
      try {
        ticks += cpuTicks(pid);
      } catch {
        // Exited between the listing and the read: the postmaster's cutime has it now.
      }
    }
    return ticks;
  };
  return {
    liveTicks,
    ticksByKind: () => {
      const kinds = new Map<string, number>([['postmaster', cpuTicks(postmaster)]]);
      for (const pid of children()) {
        try {
          const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
          // "postgres: walwriter", "postgres: postgres herald [local] idle": a backend.
          const kind = /\[local\]|\d+\.\d+\.\d+\.\d+/.test(title) ? 'backends' : title.replace(/^postgres:\s*/, '');
          kinds.set(kind, (kinds.get(kind) ?? 0) + cpuTicks(pid));
        } catch {
          // Exited meanwhile.
        }
      }
      const reaped = statFields(postmaster);
      kinds.set('exited (reaped by the postmaster)', Number(reaped[13]) + Number(reaped[14]));
      return kinds;
    },
    ticks: () => {
      // The reaped children's first: a child reaped between the two reads is then counted
      // twice (a tick or two) rather than not at all.
      const fields = statFields(postmaster);
      return Number(fields[13]) + Number(fields[14]) + liveTicks();
    },
  };
}

/** One kind of run in a go: a paced rate for so long, its medians reported under `key`. */
interface Pace {
  readonly key: string;
  readonly rate: number;
  readonly seconds: number;
}

/** The runs of a go, in the order they run: each kind once per round, RUNS rounds. */
const PACES: readonly Pace[] = SMALL
  ? RATES.map((rate) => ({ key: String(rate), rate, seconds: SECONDS }))
  : [
      { key: 'saturation', rate: RATE, seconds: SECONDS },
      { key: 'fixed', rate: FIXED_RATE, seconds: FIXED_SECONDS },
    ];

async function measure(
  label: string,
  ports: number | readonly number[],
  servers: ChildProcess | readonly ChildProcess[],
  world: World,
  databaseUrl: string,
  paces: readonly Pace[] = PACES.slice(0, 1),
): Promise<Record<string, RunFigures>> {
  const load = new Load(ports, world);
  const pids = (Array.isArray(servers) ? servers : [servers]).map((s: ChildProcess) => s.pid!);
  const postgres = await postgresOf(databaseUrl);
  await load.connect();
  if (STATEMENTS) await statements(databaseUrl, `${label}: idle`, IDLE_SECONDS, () => sleep(IDLE_SECONDS * 1000));
  const runs = new Map<string, RunFigures[]>(paces.map((pace) => [pace.key, []]));
  for (let r = 0; r < RUNS; r++) {
    for (const pace of paces) {
      const before = await seqScanRows(databaseUrl);
      const kindsBefore = postgres.ticksByKind();
      const figures = STATEMENTS
        ? await statements(databaseUrl, `${label}: ${pace.rate} sends/s`, pace.seconds, () =>
            load.run(pids, postgres, pace.rate, pace.seconds),
          )
        : await load.run(pids, postgres, pace.rate, pace.seconds);
      if (STATEMENTS) {
        // Over the run and the statements' second after it: an upper bound of each kind's share.
        const parts = [...postgres.ticksByKind()]
          .map(([kind, ticks]) => [kind, ticks - (kindsBefore.get(kind) ?? 0)] as const)
          .filter(([, ticks]) => ticks > 0)
          .map(([kind, ticks]) => `${kind} ${round((ticks / TICKS_PER_SECOND / pace.seconds) * 100, 1)}%`);
        console.log(`  PostgreSQL CPU by process (% of a core): ${parts.join(', ')}`);
      }
      // PostgreSQL publishes a backend's counters at most once a second.
      await sleep(2_000);
      const after = await seqScanRows(databaseUrl);
      runs.get(pace.key)!.push({
        ...figures,
        logSeqScanRowsPerSec: round((after.log - before.log) / pace.seconds),
        readModelSeqScanRowsPerSec: round((after.readModels - before.readModels) / pace.seconds),
      });
    }
  }
  await load.close();
  const medians: Record<string, RunFigures> = {};
  for (const pace of paces) {
    console.log(`\n${label}: ${pace.key === 'saturation' ? `${pace.rate} sends/s asked` : `${pace.rate} sends/s`}`);
    medians[pace.key] = report(runs.get(pace.key)!);
  }
  return medians;
}

/**
 * BENCH_STATEMENTS: runs `work` between two readings of pg_stat_statements and prints the
 * statements that ran most in between, per second of `seconds`.
 */
async function statements<T>(databaseUrl: string, label: string, seconds: number, work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_stat_statements_reset()');
    const scans = (): Promise<pg.QueryResult<{ relname: string; seq: string; rows: string }>> =>
      client.query(
        `SELECT relname, seq_scan::text AS seq, seq_tup_read::text AS rows FROM pg_stat_user_tables ORDER BY relname`,
      );
    const scansBefore = new Map((await scans()).rows.map((r) => [r.relname, r]));
    const result = await work();
    // PostgreSQL publishes a backend's table counters at most once a second.
    await sleep(1_100);
    const scanned = (await scans()).rows
      .map((r) => {
        const before = scansBefore.get(r.relname);
        return {
          table: r.relname,
          scans: Number(r.seq) - Number(before?.seq ?? 0),
          rows: Number(r.rows) - Number(before?.rows ?? 0),
        };
      })
      .filter((r) => r.rows > 0)
      .sort((a, b) => b.rows - a.rows)
      .slice(0, 5);
    const { rows } = await client.query<{ calls: string; ms: number; query: string }>(
      `SELECT calls::text, total_exec_time AS ms, query FROM pg_stat_statements
        WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY pg_stat_statements.calls DESC LIMIT ${Number(env.BENCH_STATEMENTS_TOP ?? 25)}`,
    );
    let calls = 0;
    let ms = 0;
    const all = await client.query<{ calls: string; ms: number }>(
      `SELECT coalesce(sum(calls), 0)::text AS calls, coalesce(sum(total_exec_time), 0) AS ms FROM pg_stat_statements`,
    );
    calls = Number(all.rows[0]!.calls);
    ms = all.rows[0]!.ms;
    console.log(
      `\nstatements, ${label}: ${round(calls / seconds)} calls/s, ${round(ms / seconds, 1)} ms/s of execution`,
    );
    for (const r of scanned) {
      console.log(
        `  sequential scans of ${r.table}: ${round(r.scans / seconds, 1)}/s reading ${round(r.rows / seconds)} rows/s`,
      );
    }
    for (const row of rows) {
      const query = row.query.replace(/\s+/g, ' ').slice(0, 110);
      console.log(
        `${String(round(Number(row.calls) / seconds, 1)).padStart(9)}/s ${String(round(row.ms / seconds, 2)).padStart(8)} ms/s  ${query}`,
      );
    }
    return result;
  } finally {
    await client.end();
  }
}

/** BENCH_STATEMENTS: an embedded PostgreSQL that loads pg_stat_statements (a restart after ALTER SYSTEM). */
async function statementsDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-bench-statements-'));
  let server = await startEmbeddedPostgres({ dataDir: dir, persistent: true });
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await client.query(`ALTER SYSTEM SET pg_stat_statements.track_utility = on`);
  await client.end();
  await server.stop();
  server = await startEmbeddedPostgres({ dataDir: dir, persistent: true });
  const again = new pg.Client({ connectionString: server.url });
  await again.connect();
  await again.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await again.end();
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
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
    const medians = await measure(
      'Herald split: 2 API processes (RUN_PROJECTIONS=false) + apps/projector',
      [port1, port2],
      [...apis, projector],
      world,
      databaseUrl,
    );
    return medians.saturation!;
  } finally {
    for (const api of apis) await stopServer(api);
    await stopServer(projector);
  }
}

// ---------------------------------------------------------------- main

/** The small shape's last line: per rate, Herald's cost and latency (and the baseline's p50). */
function smallLine(
  herald: Record<string, RunFigures>,
  baseline: Record<string, RunFigures> | undefined,
): Record<string, number | null> {
  const line: Record<string, number | null> = {};
  for (const rate of RATES) {
    const f = herald[String(rate)]!;
    line[`sendsPerSec${rate}`] = f.sendsPerSec;
    line[`cpuMsPerSend${rate}`] = f.cpuMsPerSend;
    line[`databaseCpuPct${rate}`] = f.databaseCpuPct;
    line[`serverCpuPct${rate}`] = f.serverCpuPct;
    line[`p50Ms${rate}`] = f.sendToPushP50Ms;
    line[`p99Ms${rate}`] = f.sendToPushP99Ms;
    line[`missingPushes${rate}`] = f.missingPushes;
    if (baseline) line[`baselineP50Ms${rate}`] = baseline[String(rate)]!.sendToPushP50Ms;
  }
  return line;
}

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `${USERS} users in groups of ${GROUP_SIZE} plus one group of ${BIG_GROUP}; ${RATE} sends/s to small groups and ${BIG_RATE}/s to the big one, ${SECONDS} s per run, ${RUNS} runs`,
  );
  const database = STATEMENTS ? await statementsDatabase() : await benchDatabase(env.DATABASE_URL);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-chat-'));
  const jwtSecret = randomBytes(32).toString('hex');
  try {
    const began = performance.now();
    const world = await seed(database.url, jwtSecret);
    console.log(`seeded in ${round((performance.now() - began) / 1000, 1)} s`);

    let baseline: Record<string, RunFigures> | undefined;
    if (!env.BENCH_SKIP_BASELINE && !ONLY_NOTIFY) {
      const port = await freePort();
      const server = await startServer(
        new URL('./chat-baseline.js', import.meta.url).pathname,
        { PORT: String(port) },
        async () => (await fetch(`http://127.0.0.1:${port}/`)).status === 404,
      );
      try {
        baseline = await measure('baseline: bare node:http + ws broadcast', port, server, world, database.url, PACES);
      } finally {
        await stopServer(server);
      }
    }

    const port = await freePort();
    let projectorPort = await freePort();
    while (projectorPort === port) projectorPort = await freePort();
    const main = env.BENCH_SERVER_DIST
      ? join(env.BENCH_SERVER_DIST, 'apps/api/src/main.js')
      : new URL('../apps/api/src/main.js', import.meta.url).pathname;
    if (env.BENCH_SERVER_DIST) console.log(`Herald measured: ${main}`);
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
    let heraldRuns: Record<string, RunFigures> | undefined;
    let notifications: NotificationFigures | undefined;
    try {
      if (!ONLY_NOTIFY) heraldRuns = await measure('Herald', port, server, world, database.url, PACES);
      if (!env.BENCH_SKIP_NOTIFY && !SMALL) {
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
    if (!heraldRuns) {
      console.log(JSON.stringify({ notificationsPerSec: notifications?.notificationsPerSec ?? null }));
      return;
    }
    if (SMALL) {
      console.log(JSON.stringify(smallLine(heraldRuns, baseline)));
      return;
    }
    const figures = heraldRuns.saturation!;
    const fixed = heraldRuns.fixed!;
    if (baseline) {
      console.log(
        `\nHerald / baseline: sends ${round((figures.sendsPerSec / baseline.saturation!.sendsPerSec) * 100)}%, pushes ${round((figures.pushesPerSec / baseline.saturation!.pushesPerSec) * 100)}%`,
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
    const baselineSendsPerSec = baseline?.saturation?.sendsPerSec ?? null;
    console.log(
      JSON.stringify({
        sendsPerSec,
        baselineSendsPerSec,
        sendsRatio: baselineSendsPerSec ? round(sendsPerSec / baselineSendsPerSec, 3) : null,
        cpuMsPerSend: figures.cpuMsPerSend,
        [`sendToPushP99MsAt${FIXED_RATE}`]: fixed.sendToPushP99Ms,
        [`baselineSendToPushP99MsAt${FIXED_RATE}`]: baseline?.fixed?.sendToPushP99Ms ?? null,
        [`sendToPushP50MsAt${FIXED_RATE}`]: fixed.sendToPushP50Ms,
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
