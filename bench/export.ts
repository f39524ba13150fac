/**
 * `npm run bench:export`: `herald export` of a 1,000,000-event log (BENCH_EXPORT_EVENTS),
 * run as an auditor runs it: the built CLI in a process of its own, writing NDJSON to
 * /dev/null, against the PostgreSQL of DATABASE_URL (or an embedded one). The log is a
 * realistic chat mix written straight into the log table (sends with ~100-character texts,
 * reactions, edits, deletions, joins, read markers; 10,000 conversations), then analyzed.
 *
 * Per run: events exported per second (the process's whole life: start, migration check,
 * export) and its peak RSS (VmHWM from /proc, read until it exits). Several runs
 * (BENCH_RUNS, 3); the last line is one JSON object with the medians. Targets (issue 14):
 * at least 100,000 events/s in at most 200 MB.
 *
 * Also per run, the CPU spent per event by the export process and by its PostgreSQL
 * backends (from /proc, sampled every 50 ms: the server must be on this machine; 0 when it
 * is not). BENCH_EXPORT_CLIS (paths of built CLIs' main.js, comma-separated) runs each in
 * turn on the same log, e.g. an older commit's beside this one's, measured in the same go.
 */
import { configFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { EVENT_STORE_MIGRATIONS } from '@herald/event-store';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchDatabase, machine, report, round } from './report.js';

const EVENTS = Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STREAMS = 10_000;
/** Rows per seeding transaction (as group commits write them, larger). */
const SEED_TX = 20_000;

const CLIS = (
  process.env.BENCH_EXPORT_CLIS ?? fileURLToPath(new URL('../apps/cli/src/main.js', import.meta.url))
).split(',');
const TICKS = 100;

/** user + system CPU seconds of a process so far, or undefined once it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** The mix by n % 100: what a chat log holds. */
const SEED_SQL = `
  INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
  SELECT CASE WHEN k.t = 'ConversationRead' THEN 'receipts-' ELSE 'conversation-' END || c.id, n / ${STREAMS}, gen_random_uuid(), k.t, 1,
         CASE k.t
           WHEN 'MessageSent' THEN json_build_object('conversationId', c.id, 'messageId', gen_random_uuid(), 'senderId', u.id,
             'text', 'The quick brown fox jumps over the lazy dog; message number ' || n || ', with a little more to say.',
             'mentions', json_build_object('userIds', json_build_array(), 'all', false), 'attachments', json_build_array())
           WHEN 'ReactionAdded' THEN json_build_object('conversationId', c.id, 'messageId', gen_random_uuid(), 'userId', u.id, 'emoji', '👍')
           WHEN 'MessageEdited' THEN json_build_object('conversationId', c.id, 'messageId', gen_random_uuid(), 'text', 'edited ' || n,
             'mentions', json_build_object('userIds', json_build_array(), 'all', false))
           WHEN 'MessageDeleted' THEN json_build_object('conversationId', c.id, 'messageId', gen_random_uuid())
           WHEN 'MemberJoined' THEN json_build_object('conversationId', c.id, 'userId', u.id)
           ELSE json_build_object('conversationId', c.id, 'userId', u.id, 'upToSeq', n / ${STREAMS})
         END,
         json_build_object('actorId', u.id, 'correlationId', gen_random_uuid(), 'causationId', gen_random_uuid(),
           'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    FROM generate_series($1::int, $2::int) AS n,
         LATERAL (SELECT md5('c' || (n % ${STREAMS}))::uuid AS id) AS c,
         LATERAL (SELECT md5('u' || (n % 5003))::uuid AS id) AS u,
         LATERAL (SELECT CASE WHEN n % 100 < 80 THEN 'MessageSent' WHEN n % 100 < 88 THEN 'ReactionAdded'
                              WHEN n % 100 < 92 THEN 'MessageEdited' WHEN n % 100 < 94 THEN 'MessageDeleted'
                              WHEN n % 100 < 97 THEN 'MemberJoined' ELSE 'ConversationRead' END AS t) AS k`;

interface RunFigures {
  exportPerSec: number;
  exportPeakRssMb: number;
  exportCpuUsPerEvent: number;
  postgresCpuUsPerEvent: number;
}

/** One `herald export` to /dev/null: its rate and its peak resident memory. */
function exportOnce(cli: string, url: string, db: pg.Client): Promise<RunFigures & { events: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, 'export', '--out', '/dev/null'], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let peakKb = 0;
    const sample = (): void => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        // Exited between two samples: the last one stands.
      }
    };
    // The export's own CPU and its backends' (by application name), as last seen.
    let ownCpu = 0;
    const backends = new Map<number, number>();
    let sampling = false;
    const sampleCpu = (): void => {
      ownCpu = cpuSeconds(child.pid!) ?? ownCpu;
      if (sampling) return;
      sampling = true;
      db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'herald-cli-export'`)
        .then(({ rows }) => {
          for (const { pid } of rows) {
            const seconds = cpuSeconds(pid);
            if (seconds !== undefined) backends.set(pid, seconds);
          }
        })
        .catch(() => undefined)
        .finally(() => (sampling = false));
    };
    const timer = setInterval(() => {
      sample();
      sampleCpu();
    }, 50);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - started) / 1000;
      const exported = /exported (\d+) events/.exec(stderr);
      if (code !== 0 || !exported) return reject(new Error(`herald export exited ${code}: ${stderr}`));
      const events = Number(exported[1]);
      const postgres = [...backends.values()].reduce((a, b) => a + b, 0);
      resolve({
        events,
        exportPerSec: Math.round(events / seconds),
        exportPeakRssMb: round(peakKb / 1024, 1),
        exportCpuUsPerEvent: round((ownCpu * 1e6) / events, 2),
        postgresCpuUsPerEvent: round((postgres * 1e6) / events, 2),
      });
    });
  });
}

async function main(): Promise<void> {
  const config = configFromProcess();
  const server = await benchDatabase(config.databaseUrl);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const name = `herald_bench_export_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const db = new pg.Client({ connectionString: url.toString() });
  try {
    await migrateDatabase(url.toString(), EVENT_STORE_MIGRATIONS);
    await db.connect();
    const seeding = performance.now();
    for (let from = 0; from < EVENTS; from += SEED_TX) {
      await db.query(SEED_SQL, [from, Math.min(from + SEED_TX, EVENTS) - 1]);
    }
    await db.query('VACUUM ANALYZE herald_events');
    console.log(`seeded ${EVENTS} events in ${round((performance.now() - seeding) / 1000, 1)} s; ${machine()}`);
    const runs = CLIS.map((): RunFigures[] => []);
    for (let run = 0; run < RUNS; run++) {
      // Alternating, so that drift on a shared machine falls on each alike.
      for (const [i, cli] of CLIS.entries()) {
        const { events, ...figures } = await exportOnce(cli, url.toString(), db);
        console.log(
          `run ${run + 1}${CLIS.length > 1 ? ` of ${cli}` : ''}: ${events} events, load ${loadavg()[0]!.toFixed(1)}`,
        );
        runs[i]!.push(figures);
      }
    }
    for (const [i, cli] of CLIS.entries()) {
      if (CLIS.length > 1) console.log(cli);
      console.log(JSON.stringify(report(runs[i]!)));
    }
  } finally {
    await db.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await server.stop();
  }
}

await main();
