/**
 * `npm run bench:rebuild`: rebuilding each read model from position 0 (ADR 034), as
 * `herald projections rebuild` does, over a chat history of BENCH_EVENTS events (1,000,000;
 * bench/chat-history.ts: sends, edits, deletions, reactions, receipts, joins).
 *
 * On a fresh embedded PostgreSQL (or DATABASE_URL): the migrations, the history appended
 * (not measured), then for each read model of the registry, one after the other, a rebuild
 * beside its (empty, never projected) serving tables: the copy built from position 0 in
 * batches of REBUILD_BATCH_SIZE events, its deferred indexes, SET LOGGED and ANALYZE, the
 * catch-up of what came meanwhile (nothing here), and the switch. Reported per read model:
 * the events it applied (those its filter keeps), the seconds of the whole rebuild and of
 * its catch-up alone, and `rebuildPerSec`: the log's events over the whole rebuild's
 * seconds (how fast a rebuild crosses the log, the figure that says how long an operator
 * waits). Also per rebuild, since the machine is often shared and wall-clock rates are
 * noisy: the statements this process sent (log reads included) per event applied, this
 * process's CPU and PostgreSQL's (its server processes', embedded or local only) per event
 * applied, and the load average. The last line is one JSON object:
 * `{ rebuildPerSec: { <readModel>: n, … } }` (medians of this build's rounds).
 *
 * Environment: BENCH_EVENTS (1000000), BENCH_READ_MODELS (comma-separated names, e.g.
 * `timeline,inbox`; all by default), BENCH_RUNS (rounds, 1), BENCH_BASELINE (the `dist`
 * directory of another build: each round rebuilds each read model with that build's
 * projection, then with this one's, over the same log, so that both meet the same load),
 * DATABASE_URL.
 */
import { configFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, START } from '@herald/event-store';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, rebuild } from '@herald/projection-runtime';
import { READ_MODELS, readModelMigrations, tablePrefix, type ReadModel } from '@herald/projections';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { seedChatHistory } from './chat-history.js';
import { benchDatabase, machine, median, round } from './report.js';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const ONLY = process.env['BENCH_READ_MODELS']?.split(',').map((s) => s.trim());
const RUNS = Number(process.env['BENCH_RUNS'] ?? 1);
const BASELINE = process.env['BENCH_BASELINE'];

/** Every statement this process sends goes through pg's Client (TypeORM's pool and the event store's). */
let statements = 0;
const query = Object.getOwnPropertyDescriptor(pg.Client.prototype, 'query')!.value as (
  this: pg.Client,
  ...args: unknown[]
) => unknown;
Object.defineProperty(pg.Client.prototype, 'query', {
  value: function (this: pg.Client, ...args: unknown[]) {
    statements++;
    return query.apply(this, args);
  },
});

/** CPU seconds of the server's processes (the postmaster and its children), when it runs on this machine. */
function postgresCpu(postmaster: number | null): number | null {
  if (postmaster === null) return null;
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // Fields after the command's closing parenthesis: state, ppid, ..., utime (14th), stime
    // (15th), and the CPU of children waited for (16th, 17th): the postmaster's count the
    // backends and workers that exited meanwhile.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pid) === postmaster)
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks;
    else if (Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / ticks;
  }
  return total;
}

async function postmasterPid(db: DataSource): Promise<number | null> {
  const [row] = await db.query<{ data_directory: string }[]>('SHOW data_directory');
  try {
    return Number(readFileSync(join(row!.data_directory, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return null; // not on this machine
  }
}

interface Measured {
  readonly build: string;
  readonly readModel: string;
  readonly applied: number;
  readonly seconds: number;
  readonly logPerSec: number;
  readonly statementsPerEvent: number;
  readonly nodeCpuUsPerEvent: number;
  readonly postgresCpuUsPerEvent: number | null;
  readonly load: string;
}

async function main(): Promise<void> {
  const config = configFromProcess();
  console.log(machine());
  const builds: { build: string; readModels: readonly ReadModel[] }[] = [];
  if (BASELINE) {
    const baseline = (await import(pathToFileURL(resolve(BASELINE, 'projections/index.js')).href)) as {
      READ_MODELS: readonly ReadModel[];
    };
    builds.push({ build: 'baseline', readModels: baseline.READ_MODELS });
  }
  builds.push({ build: 'this', readModels: READ_MODELS });
  const database = await benchDatabase(config.databaseUrl);
  const store = new PostgresEventStore({ connectionString: database.url, poolSize: 20 });
  try {
    await store.migrate();
    await migrateDatabase(database.url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
    const seeding = Date.now();
    let shown = 0;
    const seeded = await seedChatHistory(store, {
      events: EVENTS,
      onProgress: (n) => {
        if (n - shown >= 100_000) {
          shown = n;
          console.log(`seeded ${n} events`);
        }
      },
    });
    const logEvents = await store.countEventsAfter(START, Number.MAX_SAFE_INTEGER);
    console.log(`seeded ${seeded} events (${logEvents} in the log) in ${round((Date.now() - seeding) / 1000)} s`);
    const db = await createReadModelDataSource({ url: database.url, poolSize: 4 }).initialize();
    const measured: Measured[] = [];
    try {
      await db.query('VACUUM ANALYZE');
      const postmaster = await postmasterPid(db);
      for (let run = 1; run <= RUNS; run++)
        for (const name of READ_MODELS.map((m) => m.name).filter((n) => !ONLY || ONLY.includes(n.split('.')[0]!)))
          for (const { build, readModels } of builds) {
            const readModel = readModels.find((m) => m.name === name);
            if (!readModel) continue;
            const [statementsBefore, cpuBefore, postgresBefore] = [
              statements,
              process.cpuUsage(),
              postgresCpu(postmaster),
            ];
            const result = await rebuild(
              store,
              db,
              {
                projection: readModel.projection({ language: config.searchLanguage }),
                tablePrefix: tablePrefix(readModel),
              },
              { graceMs: 0 },
            );
            const cpu = process.cpuUsage(cpuBefore);
            const postgresAfter = postgresCpu(postmaster);
            const seconds = result.totalMs / 1000;
            const m: Measured = {
              build,
              readModel: name.split('.')[0]!,
              applied: result.applied,
              seconds: round(seconds, 2),
              logPerSec: Math.round(logEvents / seconds),
              statementsPerEvent: round((statements - statementsBefore) / result.applied, 4),
              nodeCpuUsPerEvent: round((cpu.user + cpu.system) / result.applied, 1),
              postgresCpuUsPerEvent:
                postgresBefore === null || postgresAfter === null
                  ? null
                  : round(((postgresAfter - postgresBefore) * 1e6) / result.applied, 1),
              load: loadavg()
                .map((l) => l.toFixed(1))
                .join(' '),
            };
            measured.push(m);
            console.log(
              `run ${run} ${build} ${name}: ${result.applied} events applied; rebuild ${m.seconds} s ` +
                `(catch-up ${round(result.buildMs / 1000, 2)} s); ${m.logPerSec} log events/s; ` +
                `${m.statementsPerEvent} statements, ${m.nodeCpuUsPerEvent} µs Node CPU, ` +
                `${m.postgresCpuUsPerEvent ?? '?'} µs PostgreSQL CPU per event applied; load ${m.load}`,
            );
          }
    } finally {
      await db.destroy();
    }
    const rebuildPerSec = Object.fromEntries(
      [...new Set(measured.map((m) => m.readModel))].map((readModel) => [
        readModel,
        median(measured.filter((m) => m.build === 'this' && m.readModel === readModel).map((m) => m.logPerSec)),
      ]),
    );
    console.log(JSON.stringify({ rebuildPerSec }));
  } finally {
    await store.close();
    await database.stop();
  }
}

await main();
