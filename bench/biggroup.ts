/**
 * `npm run bench:biggroup`: a group of 100,000 members beside small groups (issue 17, ADR 036).
 * This process is the load generator; Herald runs as its own process (`dist/apps/api/src/main.js`,
 * as `npm start` runs it, or BENCH_SERVER) on an embedded PostgreSQL (or DATABASE_URL).
 *
 * Setup (not measured; the conversations are appended to the event store directly, bypassing
 * the API, and Herald's projections build the read models from them at start):
 * - BENCH_CONNECTED (2,000) users registered through the identity service (one precomputed
 *   password hash), each with a WebSocket synced to its small group and the big group;
 * - the big group: those users plus members who never connect, BENCH_BIG_MEMBERS (99,990)
 *   in all, so that the BENCH_JOINERS (10) who join and leave during the runs keep it within
 *   the 100,000 a group may have;
 * - BENCH_CONNECTED / 10 small groups of 10 of the connected users (200);
 * - one of the users (the big group's owner) in BENCH_INBOX_CONVERSATIONS (10,000) more groups.
 *
 * Per run, in the same go: first the small groups alone (BENCH_SMALL_RATE sends/s, 200, by
 * the first half of each group's members, so that the other half stay idle), then the same
 * with BENCH_BIG_RATE (5) sends/s into the big group and, alongside, `GET /conversations/:big`
 * (memberCount) and pages of the owner's inbox (GET /conversations, 50 a page, five pages deep
 * then from the top again), each at BENCH_PROBE_RATE (10) per second, and a join and a leave
 * of the big group BENCH_JOIN_RATE (1) times a second (each one event pushed to every
 * connected member, as a message is). Each phase lasts BENCH_SECONDS (20).
 *
 * - bigSendP99Ms: a send into the big group, request to answer;
 * - bigFanoutP99Ms: a send into the big group to the last connected member receiving it;
 *   bigFanoutActiveP99Ms the same for the members who sent lately (the active first);
 * - smallSendToPushP99Ms: a send into a small group to each member's push, with the big
 *   group's traffic, and smallSendToPushP99MsAlone without it;
 * - memberCountP99Ms, inboxPageP99Ms, joinLeaveP99Ms: request to answer;
 * - rssMb: Herald's peak resident set during the runs.
 *
 * Environment: BENCH_RUNS (3), the sizes and rates above, BENCH_SERVER (another build's
 * main.js, e.g. main's, for a before/after), BENCH_SERVER_NODE_ARGS (e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/profiles`), DATABASE_URL.
 */
import { PostgresEventStore, type NewEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { AccessTokens, hashPassword, IdentityService } from '@herald/identity';
import {
  conversationDetails,
  conversationsOf,
  MAIN_INBOX_PAGE,
  MAIN_MEMBER_COUNT,
  notificationAudience,
} from '@herald/projections';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { WebSocket } from 'ws';
import { benchDatabase, freePort, inBatches, machine, percentile, report, round, seededRandom } from './report.js';

const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 3);
const CONNECTED = Number(env.BENCH_CONNECTED ?? 2_000);
const BIG_MEMBERS = Number(env.BENCH_BIG_MEMBERS ?? 99_990);
const JOINERS = Number(env.BENCH_JOINERS ?? 10);
const INBOX_CONVERSATIONS = Number(env.BENCH_INBOX_CONVERSATIONS ?? 10_000);
const SMALL_RATE = Number(env.BENCH_SMALL_RATE ?? 200);
const BIG_RATE = Number(env.BENCH_BIG_RATE ?? 5);
const PROBE_RATE = Number(env.BENCH_PROBE_RATE ?? 10);
const JOIN_RATE = Number(env.BENCH_JOIN_RATE ?? 1);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const GROUP_SIZE = 10;
const PAGE = 50;
const DRAIN_MS = 10_000;
const MARK = '"text":"bench ';

interface User {
  readonly userId: string;
  readonly token: string;
}
interface Group {
  readonly id: string;
  readonly members: readonly User[];
  seq: number;
}
interface World {
  readonly users: readonly User[];
  readonly joiners: readonly User[];
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
  const tag = randomBytes(3).toString('hex');
  const registered = await inBatches(
    Array.from({ length: CONNECTED + JOINERS }, (_, i) => i),
    32,
    async (i) => {
      const tokens = await identity.register(
        { username: `big${tag}${i}`, password: 'bench password', displayName: `Bench ${i}` },
        { correlationId: randomUUID(), now: new Date(), ip: '127.0.0.1' },
      );
      return { userId: tokens.userId, token: tokens.accessToken };
    },
  );
  const users = registered.slice(0, CONNECTED);
  const joiners = registered.slice(CONNECTED);
  const owner = users[0]!;
  let clock = Date.now() - 3_600_000;
  const event = (type: string, data: Record<string, unknown>, actorId = owner.userId): NewEvent => ({
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      actorId,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date(clock++).toISOString(),
    },
  });
  const group = async (id: string, members: readonly string[], name: string): Promise<number> => {
    const [first, ...rest] = members;
    await store.append(
      streamIdOf('conversation', id),
      [event('GroupCreated', { conversationId: id, ownerId: first, name, memberIds: rest.slice(0, 999) }, first)],
      'no_stream',
    );
    let seq = 0;
    for (let i = 999; i < rest.length; i += 1_000) {
      const joined = rest
        .slice(i, i + 1_000)
        .map((userId) => event('MemberJoined', { conversationId: id, userId, via: 'link' }, userId));
      seq = (await store.append(streamIdOf('conversation', id), joined, seq)).nextExpectedRevision;
    }
    return seq;
  };

  const bigId = randomUUID();
  const never = Array.from({ length: BIG_MEMBERS - CONNECTED }, () => randomUUID());
  const bigSeq = await group(bigId, [...users.map((u) => u.userId), ...never], 'Everyone');
  const small = await inBatches(
    Array.from({ length: Math.floor(CONNECTED / GROUP_SIZE) }, (_, g) => g),
    16,
    async (g): Promise<Group> => {
      const members = users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE);
      const id = randomUUID();
      return { id, members, seq: await group(id, [...members.map((m) => m.userId)], `Group ${g}`) };
    },
  );
  // The owner's inbox: as many groups again as it takes, each with a member besides the owner.
  await inBatches(
    Array.from({ length: INBOX_CONVERSATIONS }, (_, i) => i),
    32,
    async (i) => {
      await group(randomUUID(), [owner.userId, users[1 + (i % (CONNECTED - 1))]!.userId], `Inbox ${i}`);
    },
  );
  await store.close();
  return { users, joiners, small, big: { id: bigId, members: users, seq: bigSeq } };
}

async function startHerald(script: string, serverEnv: Record<string, string>, port: number): Promise<ChildProcess> {
  const nodeArgs = env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...env, ...serverEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // The projections build the read models of the seeded log first: minutes, not seconds.
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/health`)
      .then(async (r) => {
        const health = (await r.json()) as { status: string; projections: { lag: number | null }[] };
        return r.ok && health.status === 'ok' && health.projections.every((p) => p.lag === 0);
      })
      .catch(() => false);
    if (ready) return child;
    await sleep(1_000);
  }
  child.kill('SIGKILL');
  throw new Error(`${script} did not get ready`);
}

async function stopHerald(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

// ---------------------------------------------------------------- load generator

/** Herald's own gauges (prom-client's process metrics on /metrics): event-loop delay p99 and GC time so far. */
async function processGauges(port: number): Promise<{ lagP99Ms: number; gcMs: number }> {
  // Figures to explain the others, not figures of their own: a scrape that fails reads as none.
  const text = await fetch(`http://127.0.0.1:${port}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const value = (pattern: RegExp): number => [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    lagP99Ms: round(value(/^nodejs_eventloop_lag_p99_seconds (\S+)$/gm) * 1000, 1),
    gcMs: value(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm) * 1000,
  };
}

/** utime + stime of a process, in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

type Figures = {
  bigSendP99Ms: number;
  bigFanoutP99Ms: number;
  bigFanoutActiveP99Ms: number;
  smallSendToPushP99Ms: number;
  smallSendToPushP99MsAlone: number;
  memberCountP99Ms: number;
  inboxPageP99Ms: number;
  joinLeaveP99Ms: number;
  rssMb: number;
  serverCpuPct: number;
  eventLoopLagP99Ms: number;
  gcMsPerSec: number;
  bigSends: number;
  missingPushes: number;
  failedRequests: number;
};

/** A send: when it was written, and who should get it. */
interface Sent {
  readonly at: number;
  readonly big: boolean;
  expected: number;
  received: number;
  /** Connected members who sent lately, and how many of them got it. */
  expectedActive: number;
  receivedActive: number;
  lastAt: number;
  lastActiveAt: number;
}

class Load {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly sockets: WebSocket[] = [];
  private sends: Sent[] = [];
  private pushLatencies: number[] = [];
  private failed = 0;
  /** The users who send into small groups: the first half of each group. The others stay idle. */
  private readonly senders = new Set<string>();
  private readonly smallOf = new Map<string, Group>();

  constructor(
    private readonly port: number,
    private readonly world: World,
  ) {
    for (const group of world.small) {
      group.members.slice(0, GROUP_SIZE / 2).forEach((m) => this.senders.add(m.userId));
      for (const m of group.members) this.smallOf.set(m.userId, group);
    }
  }

  async connect(): Promise<void> {
    const { world } = this;
    for (let i = 0; i < world.users.length; i += 100) {
      await Promise.all(
        world.users.slice(i, i + 100).map((user) => {
          const small = this.smallOf.get(user.userId);
          const conversations: Record<string, number> = { [world.big.id]: world.big.seq };
          if (small) conversations[small.id] = small.seq;
          return this.open(user, conversations);
        }),
      );
    }
  }

  private open(user: User, conversations: Record<string, number>): Promise<void> {
    const active = this.senders.has(user.userId);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${this.port}/ws`, {
        headers: { authorization: `Bearer ${user.token}` },
        perMessageDeflate: false,
      });
      let waiting = Object.keys(conversations).length;
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'sync', conversations })));
      socket.on('message', (data: Buffer) => {
        const text = data.toString('utf8');
        const mark = text.indexOf(MARK);
        if (mark >= 0) return this.pushed(text, mark + MARK.length, active);
        if (text.startsWith('{"type":"synced"') && --waiting === 0) resolve();
      });
      this.sockets.push(socket);
    });
  }

  private pushed(text: string, at: number, active: boolean): void {
    const now = performance.now();
    const sent = this.sends[Number.parseInt(text.slice(at, at + 12), 10)];
    if (!sent) return;
    sent.received++;
    sent.lastAt = now;
    if (active) {
      sent.receivedActive++;
      sent.lastActiveAt = now;
    }
    if (!sent.big) this.pushLatencies.push(now - sent.at);
  }

  private http(method: string, path: string, token: string, body?: unknown): Promise<{ ms: number; body: string }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const began = performance.now();
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => {
            const ms = performance.now() - began;
            const text = Buffer.concat(chunks).toString('utf8');
            if ((response.statusCode ?? 500) >= 300) {
              this.failed++;
              console.error(`${method} ${path.split('?')[0]}: ${response.statusCode} ${text.slice(0, 200)}`);
            }
            resolve({ ms, body: text });
          });
        },
      );
      req.on('error', () => {
        this.failed++;
        resolve({ ms: performance.now() - began, body: '' });
      });
      req.end(payload);
    });
  }

  private async timed(method: string, path: string, token: string, body?: unknown): Promise<number> {
    return (await this.http(method, path, token, body)).ms;
  }

  private send(group: Group, sender: User, big: boolean): Promise<number> {
    const n = this.sends.length;
    const expectedActive = big ? this.senders.size : 0;
    this.sends.push({
      at: performance.now(),
      big,
      expected: group.members.length,
      received: 0,
      expectedActive,
      receivedActive: 0,
      lastAt: 0,
      lastActiveAt: 0,
    });
    return this.timed('POST', `/conversations/${group.id}/messages`, sender.token, {
      clientMessageId: `b${n}-${randomUUID()}`,
      text: `bench ${n} the quick brown fox jumps over the lazy dog`,
    });
  }

  /** An invitation link of the big group's, for the joiners. */
  async link(): Promise<string> {
    const { body } = await this.http('POST', `/conversations/${this.world.big.id}/links`, this.world.users[0]!.token);
    return (JSON.parse(body) as { token: string }).token;
  }

  /** Runs `work` `rate` times a second for SECONDS, without waiting for one to end before the next. */
  private paced(rate: number, work: (i: number) => Promise<unknown>, until: number): Promise<unknown>[] {
    const started: Promise<unknown>[] = [];
    if (rate <= 0) return started;
    const begin = performance.now();
    const tick = (): void => {
      const now = performance.now();
      if (now >= until) return;
      const due = Math.floor(((now - begin) / 1000) * rate);
      while (started.length < due) started.push(work(started.length));
      setTimeout(tick, 2);
    };
    tick();
    return started;
  }

  async phase(withBig: boolean, pid: number, token: string): Promise<Partial<Figures>> {
    this.sends = [];
    this.pushLatencies = [];
    this.failed = 0;
    const { world } = this;
    const senders = world.users.filter((u) => this.senders.has(u.userId));
    const until = performance.now() + SECONDS * 1000;
    const bigSend: number[] = [];
    const memberCount: number[] = [];
    const inboxPage: number[] = [];
    const joinLeave: number[] = [];
    let peak = 0;
    const gaugesBefore = await processGauges(this.port);
    const ticksBefore = cpuTicks(pid);
    const phaseBegan = performance.now();
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
    const work: Promise<unknown>[] = [];
    const random = seededRandom(17);
    work.push(
      ...this.paced(
        SMALL_RATE,
        async () => {
          const sender = senders[Math.floor(random() * senders.length)]!;
          await this.send(this.smallOf.get(sender.userId)!, sender, false);
        },
        until,
      ),
    );
    if (withBig) {
      work.push(
        ...this.paced(
          BIG_RATE,
          async (i) => bigSend.push(await this.send(world.big, senders[(i * 31) % senders.length]!, true)),
          until,
        ),
        ...this.paced(
          PROBE_RATE,
          async () =>
            memberCount.push(await this.timed('GET', `/conversations/${world.big.id}`, world.users[0]!.token)),
          until,
        ),
      );
      // The owner's inbox, five pages deep, then from the top again: one walk at a time.
      work.push(
        (async () => {
          let cursor: string | null = null;
          let depth = 0;
          while (performance.now() < until) {
            const path: string = `/conversations?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
            const page = await this.http('GET', path, world.users[0]!.token);
            inboxPage.push(page.ms);
            cursor = depth++ < 4 ? (JSON.parse(page.body) as { nextCursor: string | null }).nextCursor : null;
            if (!cursor) depth = 0;
            await sleep(1000 / PROBE_RATE);
          }
        })(),
      );
      // Each joiner in turn joins the big group and leaves it again.
      work.push(
        (async () => {
          for (let i = 0; performance.now() < until; i++) {
            const joiner = world.joiners[i % world.joiners.length]!;
            joinLeave.push(await this.timed('POST', `/conversations/${world.big.id}/join`, joiner.token, { token }));
            joinLeave.push(await this.timed('POST', `/conversations/${world.big.id}/leave`, joiner.token));
            await sleep(1000 / JOIN_RATE);
          }
        })(),
      );
    }
    await sleep(SECONDS * 1000);
    await Promise.all(work);
    const phaseSeconds = (performance.now() - phaseBegan) / 1000;
    const serverCpuPct = round(((cpuTicks(pid) - ticksBefore) / 100 / phaseSeconds) * 100);
    const gauges = await processGauges(this.port);
    const missing = (): number => this.sends.reduce((sum, s) => sum + s.expected - s.received, 0);
    const deadline = Date.now() + DRAIN_MS;
    while (missing() > 0 && Date.now() < deadline) await sleep(100);
    clearInterval(sampler);
    const p99 = (values: number[]): number =>
      values.length === 0
        ? Number.NaN
        : round(
            percentile(
              [...values].sort((a, b) => a - b),
              99,
            ),
            1,
          );
    const big = this.sends.filter((s) => s.big);
    const small = p99(this.pushLatencies);
    return withBig
      ? {
          bigSendP99Ms: p99(bigSend),
          bigFanoutP99Ms: p99(big.map((s) => s.lastAt - s.at)),
          bigFanoutActiveP99Ms: p99(big.map((s) => s.lastActiveAt - s.at)),
          smallSendToPushP99Ms: small,
          memberCountP99Ms: p99(memberCount),
          inboxPageP99Ms: p99(inboxPage),
          joinLeaveP99Ms: p99(joinLeave),
          rssMb: round(peak),
          serverCpuPct,
          eventLoopLagP99Ms: gauges.lagP99Ms,
          gcMsPerSec: round((gauges.gcMs - gaugesBefore.gcMs) / phaseSeconds),
          bigSends: big.length,
          missingPushes: missing(),
          failedRequests: this.failed,
        }
      : { smallSendToPushP99MsAlone: small, missingPushes: missing(), failedRequests: this.failed };
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.agent.destroy();
  }
}

/** The plan of a page of the owner's inbox, as PostgreSQL runs it (ADR 036: no sort of all of it). */
async function explainInbox(databaseUrl: string, userId: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    let statement: { sql: string; params: unknown[] } | undefined;
    const capture = {
      query: (sql: string, params: unknown[]): Promise<unknown> => {
        statement = { sql, params };
        return Promise.resolve([]);
      },
    };
    await conversationsOf(capture, userId, { limit: PAGE });
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ${statement!.sql}`,
      statement!.params,
    );
    return rows.map((r) => r['QUERY PLAN']);
  } finally {
    await client.end();
  }
}

/**
 * How long the notifier's read of a conversation's audience takes, and how many rows it is:
 * as it reads it (members with a device: none in this benchmark), and every current member.
 */
async function audienceRead(
  databaseUrl: string,
  conversationId: string,
): Promise<{ withDevices: { ms: number; rows: number }; all: { ms: number; rows: number } }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const db = {
      query: async (sql: string, params: unknown[]): Promise<unknown> => (await client.query(sql, params)).rows,
    };
    const timed = async (among?: { table: string; column: string }) => {
      await notificationAudience(db, [conversationId], among);
      const began = performance.now();
      const rows = (await notificationAudience(db, [conversationId], among)).length;
      return { ms: round(performance.now() - began, 1), rows };
    };
    return { withDevices: await timed({ table: 'notify_devices', column: 'user_id' }), all: await timed() };
  } finally {
    await client.end();
  }
}

/**
 * memberCount and an inbox page at the SQL level, main's statements (7d1edc6: a count of the
 * member rows; every conversation of the user joined and sorted) against this build's
 * queries, on the same database in the same go: p50 and p99 of QUERY_REPEATS each.
 */
const QUERY_REPEATS = 200;
async function queriesBeforeAfter(
  databaseUrl: string,
  bigId: string,
  userId: string,
): Promise<Record<string, { p50: number; p99: number }>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const db = {
    query: async (sql: string, params: unknown[]): Promise<unknown> => (await client.query(sql, params)).rows,
  };
  const timed = async (work: () => Promise<unknown>): Promise<{ p50: number; p99: number }> => {
    await work();
    const ms: number[] = [];
    for (let i = 0; i < QUERY_REPEATS; i++) {
      const began = performance.now();
      await work();
      ms.push(performance.now() - began);
    }
    ms.sort((a, b) => a - b);
    return { p50: round(percentile(ms, 50), 2), p99: round(percentile(ms, 99), 2) };
  };
  try {
    return {
      memberCountMain: await timed(() => client.query(MAIN_MEMBER_COUNT, [bigId])),
      memberCountNow: await timed(() => conversationDetails(db, bigId)),
      inboxFirstPageMain: await timed(() => client.query(MAIN_INBOX_PAGE, [userId, PAGE + 1])),
      inboxFirstPageNow: await timed(() => conversationsOf(db, userId, { limit: PAGE })),
    };
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `a group of ${BIG_MEMBERS} members (${CONNECTED} connected), ${Math.floor(CONNECTED / GROUP_SIZE)} groups of ${GROUP_SIZE}, ` +
      `an inbox of ${INBOX_CONVERSATIONS} more; ${SMALL_RATE} sends/s to small groups, ${BIG_RATE}/s to the big one, ` +
      `probes ${PROBE_RATE}/s, a join and a leave ${JOIN_RATE}/s; ${SECONDS} s per phase, ${RUNS} runs`,
  );
  const database = await benchDatabase(env.DATABASE_URL);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-biggroup-'));
  const jwtSecret = randomBytes(32).toString('hex');
  try {
    let began = performance.now();
    const world = await seed(database.url, jwtSecret);
    console.log(`seeded in ${round((performance.now() - began) / 1000, 1)} s`);
    const port = await freePort();
    const script = env.BENCH_SERVER ?? new URL('../apps/api/src/main.js', import.meta.url).pathname;
    began = performance.now();
    const server = await startHerald(
      script,
      {
        PORT: String(port),
        DATABASE_URL: database.url,
        JWT_SECRET: jwtSecret,
        HERALD_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_IP_PER_SECOND: '100000',
      },
      port,
    );
    console.log(`read models built in ${round((performance.now() - began) / 1000, 1)} s`);
    const load = new Load(port, world);
    try {
      began = performance.now();
      await load.connect();
      console.log(`${CONNECTED} sockets synced in ${round((performance.now() - began) / 1000, 1)} s`);
      const token = await load.link();
      // Warm up: the command side reads the big group's state once (its whole stream).
      began = performance.now();
      await load.phase(true, server.pid!, token).catch(() => undefined);
      console.log(`warm-up in ${round((performance.now() - began) / 1000, 1)} s`);
      const runs: Figures[] = [];
      for (let r = 0; r < RUNS; r++) {
        const alone = await load.phase(false, server.pid!, token);
        const withBig = await load.phase(true, server.pid!, token);
        runs.push({
          ...(withBig as Figures),
          smallSendToPushP99MsAlone: alone.smallSendToPushP99MsAlone!,
          missingPushes: alone.missingPushes! + withBig.missingPushes!,
          failedRequests: alone.failedRequests! + withBig.failedRequests!,
        });
      }
      console.log('');
      const medians = report(runs);
      const audience = await audienceRead(database.url, world.big.id);
      console.log(
        `\nthe notifier's audience read of the big group: members with a device ${audience.withDevices.rows} rows in ${audience.withDevices.ms} ms; every member ${audience.all.rows} rows in ${audience.all.ms} ms`,
      );
      const queries = await queriesBeforeAfter(database.url, world.big.id, world.users[0]!.userId);
      console.log(`\nSQL only, ${QUERY_REPEATS} times each, ms (main's statement against this build's):`);
      for (const [name, { p50, p99 }] of Object.entries(queries)) console.log(`  ${name}: p50 ${p50}, p99 ${p99}`);
      console.log(`\nEXPLAIN ANALYZE of an inbox page of the user in ${INBOX_CONVERSATIONS + 2} conversations:`);
      for (const line of await explainInbox(database.url, world.users[0]!.userId).catch((e: Error) => [e.message]))
        console.log(`  ${line}`);
      const { bigSendP99Ms, bigFanoutP99Ms, smallSendToPushP99Ms, memberCountP99Ms, inboxPageP99Ms } = medians;
      const { joinLeaveP99Ms, rssMb: rss, smallSendToPushP99MsAlone, bigFanoutActiveP99Ms } = medians;
      console.log(
        JSON.stringify({
          bigSendP99Ms,
          bigFanoutP99Ms,
          smallSendToPushP99Ms,
          memberCountP99Ms,
          inboxPageP99Ms,
          joinLeaveP99Ms,
          rssMb: rss,
          smallSendToPushP99MsAlone,
          bigFanoutActiveP99Ms,
        }),
      );
    } finally {
      load.close();
      await stopHerald(server);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  }
}

await main();
