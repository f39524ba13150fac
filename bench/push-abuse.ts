/**
 * `npm run bench:abuse`: what an abusive WebSocket client costs the others. Herald runs as
 * its own process (`dist/apps/api/src/main.js`, as `npm start` runs it) on a fresh embedded
 * PostgreSQL (or DATABASE_URL), on 127.0.0.1 only, with its default per-user rate limit;
 * this process is the clients.
 *
 * Setup: a group holding ABUSE_MESSAGES (500) messages of 16 KiB (a catch-up from 0 is
 * about 8 MB), the attacker one of its members; ABUSE_VICTIMS (4) other users, each in a
 * small group of their own.
 *
 * Per run: the victims read their group's last 50 messages over REST, each ABUSE_VICTIM_RATE
 * (12) times a second, for ABUSE_SECONDS (10) idle, then as long again while the attacker
 * keeps two sockets sending `sync` from seq 0 for the big group as fast as the socket
 * takes them (reading everything), and an outsider a third socket syncing the same group.
 * Figures: the victims' REST p50/p95 idle and under attack and their ratio, the bytes a
 * second the attacker was sent, its sync frames sent and refused (PUSH.RATE_LIMITED), the
 * outsider's, and Herald's CPU in each phase. The last line is one JSON object of the medians.
 *
 * Environment: BENCH_RUNS (3), ABUSE_SECONDS, ABUSE_MESSAGES, ABUSE_VICTIMS,
 * ABUSE_VICTIM_RATE, DATABASE_URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { benchDatabase, freePort, machine, percentile, report, round } from './report.js';

const env = process.env;
const RUNS = Number(env.BENCH_RUNS ?? 3);
const SECONDS = Number(env.ABUSE_SECONDS ?? 10);
const MESSAGES = Number(env.ABUSE_MESSAGES ?? 500);
const VICTIMS = Number(env.ABUSE_VICTIMS ?? 4);
const VICTIM_RATE = Number(env.ABUSE_VICTIM_RATE ?? 12);
/** Messages each sender posts (under the default per-user burst of 60). */
const PER_SENDER = 50;
const HOST = '127.0.0.1';

type RunFigures = {
  idleP50Ms: number;
  idleP95Ms: number;
  attackP50Ms: number;
  attackP95Ms: number;
  p95Ratio: number;
  attackerMbPerSec: number;
  attackerSyncsSent: number;
  attackerSyncsRefused: number;
  attackerReconnects: number;
  outsiderSyncsSent: number;
  outsiderSyncsRefused: number;
  serverCpuIdlePct: number;
  serverCpuAttackPct: number;
};

interface User {
  readonly userId: string;
  readonly token: string;
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

class Herald {
  constructor(
    readonly base: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(port: number, serverEnv: Record<string, string>): Promise<Herald> {
    const main = new URL('../apps/api/src/main.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [main], {
      env: { ...env, ...serverEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const base = `http://${HOST}:${port}`;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`Herald exited with ${child.exitCode}`);
      const ok = await fetch(`${base}/health`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) return new Herald(base, child);
      await sleep(250);
    }
    child.kill('SIGKILL');
    throw new Error('Herald did not get ready');
  }

  get pid(): number {
    return this.child.pid!;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  async call<T>(method: string, path: string, token?: string, body?: object): Promise<T> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  async user(name: string): Promise<User> {
    const body = await this.call<{ userId: string; accessToken: string }>('POST', '/auth/register', undefined, {
      username: `${name}${randomUUID().slice(0, 8)}`,
      password: 'password-1',
      displayName: name,
    });
    return { userId: body.userId, token: body.accessToken };
  }

  async group(owner: User, members: User[]): Promise<string> {
    const body = await this.call<{ conversationId: string }>('POST', '/conversations/groups', owner.token, {
      name: 'bench',
      memberIds: members.map((m) => m.userId),
    });
    return body.conversationId;
  }

  say(who: User, conversationId: string, text: string): Promise<unknown> {
    return this.call('POST', `/conversations/${conversationId}/messages`, who.token, {
      clientMessageId: randomUUID(),
      text,
    });
  }
}

interface World {
  readonly attacker: User;
  readonly outsider: User;
  readonly big: string;
  readonly victims: { readonly user: User; readonly conversationId: string }[];
}

async function seed(herald: Herald): Promise<World> {
  const attacker = await herald.user('attacker');
  const outsider = await herald.user('outsider');
  const senders = await Promise.all(
    Array.from({ length: Math.ceil(MESSAGES / PER_SENDER) }, (_, i) => herald.user(`sender${i}`)),
  );
  const big = await herald.group(attacker, senders);
  const text = 'x'.repeat(16_384 - 8);
  await Promise.all(
    senders.map(async (sender, s) => {
      for (let i = 0; i < PER_SENDER && s * PER_SENDER + i < MESSAGES; i++)
        await herald.say(sender, big, `${i} ${text}`.slice(0, 16_384));
    }),
  );
  const victims = await Promise.all(
    Array.from({ length: VICTIMS }, async (_, i) => {
      const [user, friend] = await Promise.all([herald.user(`victim${i}`), herald.user(`friend${i}`)]);
      const conversationId = await herald.group(user, [friend]);
      for (let m = 0; m < 20; m++) await herald.say(friend, conversationId, `message ${m} for victim ${i}`);
      return { user, conversationId };
    }),
  );
  return { attacker, outsider, big, victims };
}

/** The victims' REST reads for `seconds`, paced: their latencies in ms. */
async function victimsRead(herald: Herald, world: World, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const interval = 1000 / VICTIM_RATE;
  await Promise.all(
    world.victims.map(async ({ user, conversationId }, i) => {
      await sleep((interval / world.victims.length) * i);
      let next = performance.now();
      while (performance.now() < until) {
        const started = performance.now();
        const response = await fetch(`${herald.base}/conversations/${conversationId}/messages?limit=50`, {
          headers: { authorization: `Bearer ${user.token}` },
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`victim read: ${response.status}`);
        latencies.push(performance.now() - started);
        next += interval;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
      }
    }),
  );
  return latencies.sort((a, b) => a - b);
}

interface Abuser {
  sent: number;
  refused: number;
  bytes: number;
  /** Times the server closed the socket (too slow a reader: 4008) and the abuser opened another. */
  reconnects: number;
  stop(): Promise<void>;
}

/**
 * Sockets of `who` sending `frame` whenever the send buffer is nearly empty, reading (and
 * counting) everything; one the server closes is opened again at once.
 */
async function abuse(herald: Herald, who: User, frame: object): Promise<Abuser> {
  const text = JSON.stringify(frame);
  let stopping = false;
  let ws: WebSocket;
  const abuser: Abuser = {
    sent: 0,
    refused: 0,
    bytes: 0,
    reconnects: 0,
    stop: async () => {
      stopping = true;
      clearInterval(timer);
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise((resolve) => ws.once('close', resolve));
      // A socket the server does not read (over budget) may not answer the close: cut it.
      ws.terminate();
      await closed;
    },
  };
  const open = async (): Promise<void> => {
    ws = new WebSocket(`${herald.base.replace('http', 'ws')}/ws`, {
      headers: { authorization: `Bearer ${who.token}` },
    });
    ws.on('message', (data: Buffer) => {
      abuser.bytes += data.length;
      if (data.length < 300 && data.includes('PUSH.RATE_LIMITED')) abuser.refused++;
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (stopping) return;
      abuser.reconnects++;
      void open().catch(() => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  };
  await open();
  const timer = setInterval(() => {
    for (let i = 0; i < 10 && ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 4096; i++) {
      ws.send(text);
      abuser.sent++;
    }
  }, 1);
  return abuser;
}

async function run(herald: Herald, world: World): Promise<RunFigures> {
  let cpu = cpuSeconds(herald.pid);
  let at = performance.now();
  const cpuPct = (): number => {
    const [nowCpu, now] = [cpuSeconds(herald.pid), performance.now()];
    const pct = ((nowCpu - cpu) / ((now - at) / 1000)) * 100;
    [cpu, at] = [nowCpu, now];
    return round(pct);
  };
  const idle = await victimsRead(herald, world, SECONDS);
  const serverCpuIdlePct = cpuPct();

  const syncBig = { type: 'sync', conversations: { [world.big]: 0 } };
  const attackers = await Promise.all([abuse(herald, world.attacker, syncBig), abuse(herald, world.attacker, syncBig)]);
  const outsider = await abuse(herald, world.outsider, syncBig);
  const started = performance.now();
  cpuPct();
  const attack = await victimsRead(herald, world, SECONDS);
  const serverCpuAttackPct = cpuPct();
  const elapsed = (performance.now() - started) / 1000;
  const attackerBytes = attackers.reduce((sum, a) => sum + a.bytes, 0);
  await Promise.all([...attackers, outsider].map((a) => a.stop()));
  // Let the catch-ups under way end before the next run's idle phase.
  await sleep(3_000);

  const idleP95Ms = round(percentile(idle, 95), 1);
  const attackP95Ms = round(percentile(attack, 95), 1);
  return {
    idleP50Ms: round(percentile(idle, 50), 1),
    idleP95Ms,
    attackP50Ms: round(percentile(attack, 50), 1),
    attackP95Ms,
    p95Ratio: round(attackP95Ms / idleP95Ms, 2),
    attackerMbPerSec: round(attackerBytes / 2 ** 20 / elapsed, 2),
    attackerSyncsSent: attackers.reduce((sum, a) => sum + a.sent, 0),
    attackerSyncsRefused: attackers.reduce((sum, a) => sum + a.refused, 0),
    attackerReconnects: attackers.reduce((sum, a) => sum + a.reconnects, 0),
    outsiderSyncsSent: outsider.sent,
    outsiderSyncsRefused: outsider.refused,
    serverCpuIdlePct,
    serverCpuAttackPct,
  };
}

async function main(): Promise<void> {
  console.log(machine());
  console.log(
    `a group of ${MESSAGES} messages of 16 KiB; ${VICTIMS} victims reading over REST ${VICTIM_RATE}/s each; ${SECONDS} s idle then ${SECONDS} s under attack (2 member sockets + 1 outsider socket syncing from 0); ${RUNS} runs`,
  );
  const database = await benchDatabase(env.DATABASE_URL);
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-bench-abuse-'));
  const port = await freePort();
  const herald = await Herald.start(port, {
    HOST,
    PORT: String(port),
    DATABASE_URL: database.url,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HERALD_DATA_DIR: dataDir,
    LOG_LEVEL: 'error',
    // Every client here comes from 127.0.0.1, and signs up once; the per-user limit stays the default.
    RATE_LIMIT_IP_PER_SECOND: '100000',
    RATE_LIMIT_SIGN_IN_PER_MINUTE: '10000',
  });
  try {
    const began = performance.now();
    const world = await seed(herald);
    console.log(`seeded in ${round((performance.now() - began) / 1000, 1)} s`);
    const runs: RunFigures[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await run(herald, world));
    const medians = report(runs);
    console.log(JSON.stringify(medians));
  } finally {
    await herald.stop();
    await rm(dataDir, { recursive: true, force: true });
    await database.stop();
  }
}

await main();
