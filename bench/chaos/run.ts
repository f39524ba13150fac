/**
 * One chaos run (or soak): starts the Kafka mock and Herald, sets up the users, runs the
 * workload with the nemesis (none in a soak) for the time asked, reads the final state and
 * checks it against the history.
 */
import { kafkaMockUnavailable, startKafkaMock, type KafkaMock } from '@herald/kafka-mock';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { check, DEFAULT_CHECK_OPTIONS, type Anomaly, type FinalState } from './checker.js';
import { KafkaCollector, readFinalState } from './final-state.js';
import { HeraldProcess } from './herald-process.js';
import { History, type FaultKind } from './history.js';
import { Nemesis } from './nemesis.js';
import { freePort } from '../report.js';
import { Prng } from './prng.js';
import {
  chaosReport,
  injectedKinds,
  soakReport,
  soakSlopes,
  summarize,
  type ChaosSummary,
  type SoakSample,
} from './report.js';
import { setUp, type Endpoint, type World } from './workload.js';

export interface ChaosOptions {
  readonly seed: number;
  /** How long the workload runs. */
  readonly minutes: number;
  /** A soak: no faults, one sample a minute. */
  readonly soak?: boolean;
  readonly users?: number;
  /** Run the Kafka relay against the mock cluster (default: when kcat is installed). */
  readonly kafka?: boolean;
  /** Keep the data directory (history, Herald's log, the cluster) even when nothing was found. */
  readonly keep?: boolean;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly summary: ChaosSummary;
  readonly anomalies: readonly Anomaly[];
  readonly injected: Record<FaultKind, number>;
  readonly report: string;
  readonly kafka: boolean;
  readonly samples: readonly SoakSample[];
  readonly slopes?: Record<string, number>;
  readonly dataDir: string;
}

export const RECOVERY_BOUND_MS = DEFAULT_CHECK_OPTIONS.recoveryBoundMs;

/** dist/apps/api/src/main.js, from the built harness (dist/bench/chaos) or its source (bench/chaos). */
export function heraldMain(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${join('dist', 'bench')}`) ? join(here, '..', '..', '..') : join(here, '..', '..');
  return join(root, 'dist', 'apps', 'api', 'src', 'main.js');
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const main = heraldMain();
  if (!existsSync(main)) throw new Error(`${main} is missing: npm run build first`);
  const prng = new Prng(options.seed);
  const short = options.minutes <= 3;
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-chaos-'));
  const history = new History(join(dataDir, 'history.jsonl'));
  const unavailable = kafkaMockUnavailable();
  const useKafka = (options.kafka ?? true) && unavailable === undefined;
  if ((options.kafka ?? true) && unavailable) log(`Kafka relay off: ${unavailable}`);
  let kafka: KafkaMock | undefined;
  let herald: HeraldProcess | undefined;
  let world: World | undefined;
  let collector: KafkaCollector | undefined;
  let keep = options.keep ?? false;
  try {
    kafka = useKafka ? await startKafkaMock() : undefined;
    herald = new HeraldProcess({
      main,
      dataDir,
      port: await freePort(),
      jwtSecret: randomBytes(32).toString('hex'),
      ...(kafka ? { kafkaBrokers: kafka.brokers } : {}),
      logFile: join(dataDir, 'herald.log'),
      history,
    });
    const endpoint: Endpoint = { url: herald.url, history };
    log(
      `data directory ${dataDir}; seed ${options.seed}; ${options.soak ? 'soak' : 'chaos'} for ${options.minutes} min; Kafka ${kafka ? 'on' : 'off'}`,
    );
    await herald.start();
    world = await setUp(endpoint, options.users ?? 8, prng.fork());
    collector = kafka ? await KafkaCollector.start(kafka.brokers) : undefined;
    for (const client of world.clients) client.connect();
    await sleep(1_000);

    const until = Date.now() + options.minutes * 60_000;
    let stopping = false;
    const stop = (): boolean => stopping || Date.now() >= until;
    const think: [number, number] = options.soak ? [100, 300] : [50, 250];
    const loops = world.clients.map((c) => c.run(stop, think));
    const nemesis = options.soak
      ? undefined
      : new Nemesis({
          herald,
          kafka,
          world,
          endpoint,
          history,
          prng: prng.fork(),
          faultMs: short ? [3_000, 6_000] : [5_000, 20_000],
          gapMs: short ? [3_000, 6_000] : [10_000, 30_000],
          recoveryTimeoutMs: 120_000,
          log,
        });
    const samples: SoakSample[] = [];
    const sampler = options.soak ? sample(herald, history, samples, stop, log) : Promise.resolve();
    const progress = setInterval(() => {
      const ops = world!.clients.reduce((s, c) => s + c.operations, 0);
      log(
        `${Math.round((Date.now() - (until - options.minutes * 60_000)) / 1000)} s: ${ops} operations, ${history.entries.length} history entries`,
      );
    }, 60_000);
    try {
      await nemesis?.run(until);
      // Faults end with the time; the last one may overrun it a little.
      while (!stop()) await sleep(250);
      stopping = true;
      await Promise.all(loops);
      await sampler;
    } finally {
      clearInterval(progress);
    }

    // Herald as its supervisor leaves it: running and ready.
    if (herald.crashed) herald.spawn();
    await herald.waitReady(120_000);
    const databaseUrl = herald.databaseUrl();
    if (!databaseUrl) throw new Error('no postmaster.pid: cannot read the log');
    log('reading the final state');
    const final = await readFinalState(endpoint, world, databaseUrl, collector);
    await drainSockets(world, final);
    for (const client of world.clients) client.closeSocket();
    const anomalies = check(history.entries, final);
    const summary = summarize(history.entries, anomalies);
    let report = chaosReport(history.entries, anomalies, RECOVERY_BOUND_MS);
    let slopes: Record<string, number> | undefined;
    if (options.soak) {
      slopes = soakSlopes(samples);
      report += '\n\n' + soakReport(samples);
    }
    if (anomalies.length > 0) {
      keep = true;
      report += '\n\nAll anomalies:\n' + anomalies.map((a) => `  ${a.kind}: ${a.detail}`).join('\n');
    }
    if (keep) report += `\n\nKept: ${dataDir} (history.jsonl, herald.log, the cluster)`;
    return {
      summary,
      anomalies,
      injected: injectedKinds(history.entries),
      report,
      kafka: kafka !== undefined,
      samples,
      ...(slopes ? { slopes } : {}),
      dataDir,
    };
  } catch (error) {
    keep = true;
    log(`chaos run failed; kept ${dataDir}`);
    throw error;
  } finally {
    for (const client of world?.clients ?? []) client.closeSocket();
    await collector?.stop().catch(() => undefined);
    await herald?.close();
    await kafka?.stop();
    await history.close();
    if (!keep) await rm(dataDir, { recursive: true, force: true });
  }
}

/** Waits (up to 30 s) until every client's socket has delivered its conversations' last events. */
async function drainSockets(world: World, final: FinalState): Promise<void> {
  const behind = (): number =>
    world.clients.reduce(
      (n, c) =>
        n +
        c.conversations.filter((conv) => (c.lastSeq.get(conv.id) ?? -1) < (final.streams[conv.id]?.length ?? 0) - 1)
          .length,
      0,
    );
  const deadline = Date.now() + 30_000;
  while (behind() > 0 && Date.now() < deadline) await sleep(100);
}

/** One soak sample a minute: Herald's RSS, /health/live latency (one probe a second), requests' p99, the database's size. */
async function sample(
  herald: HeraldProcess,
  history: History,
  samples: SoakSample[],
  stop: () => boolean,
  log: (line: string) => void,
): Promise<void> {
  let minute = 0;
  let live: number[] = [];
  let from = history.now();
  let nextSample = Date.now() + 60_000;
  while (!stop()) {
    const began = performance.now();
    try {
      const response = await fetch(`${herald.url}/health/live`, { signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      live.push(performance.now() - began);
    } catch {
      live.push(10_000);
    }
    if (Date.now() >= nextSample) {
      minute++;
      const to = history.now();
      const latencies = history.entries
        .filter(
          (e) => e.kind === 'request' && e.endAt >= from && e.endAt < to && e.status !== undefined && e.status < 300,
        )
        .map((e) => (e.kind === 'request' ? e.endAt - e.at : 0))
        .sort((a, b) => a - b);
      live.sort((a, b) => a - b);
      const s: SoakSample = {
        minute,
        rssMb: herald.rssMb() ?? 0,
        liveP99Ms: live[Math.floor(live.length * 0.99)] ?? 0,
        liveMaxMs: live.at(-1) ?? 0,
        requestP99Ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
        requests: latencies.length,
        databaseMb: await databaseMb(herald),
      };
      samples.push(s);
      log(`soak minute ${minute}: ${JSON.stringify(s)}`);
      live = [];
      from = to;
      nextSample += 60_000;
    }
    await sleep(Math.max(0, 1_000 - (performance.now() - began)));
  }
}

async function databaseMb(herald: HeraldProcess): Promise<number> {
  const url = herald.databaseUrl();
  if (!url) return 0;
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const { rows } = await client.query<{ size: string }>(`SELECT pg_database_size('herald')::text AS size`);
    return Number(rows[0]!.size) / 1024 / 1024;
  } catch {
    return 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}
