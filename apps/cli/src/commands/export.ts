/**
 * `herald export`: the event log, or the part the filters select, as NDJSON (the lines of
 * GET /audit/log, the same filters) to a file or stdout; progress on stderr. Read in
 * keyset windows and written with backpressure, so memory stays flat whatever the log's
 * size. Each export is recorded in the `audit-cli` audit stream, as who ran it.
 */
import {
  AuditLogParams,
  auditLogQueryOf,
  auditParamsProblem,
  EVENT_STORE_MIGRATIONS,
  PostgresAuditLog,
  PostgresEventStore,
} from '@herald/event-store';
import { createPool, migrateDatabase } from '@herald/database';
import { recordAuditRead } from '@herald/identity';
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { CliError, EXIT } from '../cli-error.js';
import { withDatabase } from '../database.js';
import { progress } from '../progress.js';
import { cliActor } from './actor.js';

interface ExportOptions {
  readonly out?: string;
  readonly after?: string;
  readonly upTo?: string;
  readonly since?: string;
  readonly until?: string;
  readonly type?: string;
  readonly category?: string;
  readonly actor?: string;
  readonly conversation?: string;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('Write the event log (or the part the filters select) as NDJSON, one event a line, in log order')
    .option('-o, --out <file>', 'write to this file (default: stdout)')
    .option('--after <checkpoint>', 'events after this checkpoint (exclusive)')
    .option('--up-to <checkpoint>', 'events up to this checkpoint (inclusive)')
    .option('--since <time>', 'events recorded at or after this time (ISO 8601 with offset); read in recorded order')
    .option('--until <time>', 'events recorded before this time (ISO 8601 with offset)')
    .option('--type <types>', 'only these event types, comma-separated')
    .option('--category <categories>', 'only streams of these categories, comma-separated (conversation, user, ...)')
    .option('--actor <actorId>', "only events whose metadata's actorId is this")
    .option('--conversation <id>', "only this conversation's stream")
    .action(async (options: ExportOptions) => exportLog(options));
}

async function exportLog(options: ExportOptions): Promise<void> {
  const given = Object.fromEntries(
    Object.entries({ ...options, out: undefined }).filter(([, v]) => v !== undefined),
  ) as Record<string, string>;
  const parsed = AuditLogParams.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      `--${String(issue.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${issue.message}`,
      EXIT.usage,
    );
  }
  const problem = auditParamsProblem(parsed.data);
  if (problem) throw new CliError(`--${problem.path}: ${problem.problem}`, EXIT.usage);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await withDatabase(async ({ url }) => {
    await migrateDatabase(url, EVENT_STORE_MIGRATIONS);
    const store = new PostgresEventStore({ connectionString: url, poolSize: 1 });
    // Two windows built at once (two backends), and the look-up of where the next ones end.
    const pool = createPool({ connectionString: url, max: 3, applicationName: 'herald-cli-export' });
    const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
    const shown = progress('export');
    let done = 0;
    try {
      const actor = cliActor();
      await recordAuditRead(store, actor, 'herald export', given, {
        actorId: actor,
        correlationId: randomUUID(),
        now: new Date(),
      });
      // Windows of 500 rows: peak RSS ~160 MB instead of ~200-250 MB with 2,000 (docs/benchmarks.md).
      const log = new PostgresAuditLog(pool, { windowsAtOnce: 2, window: 500 });
      for await (const chunk of log.ndjson(auditLogQueryOf(parsed.data), (n) => shown.update((done += n)))) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      shown.stop();
      if (options.out) {
        out.end();
        await once(out, 'finish');
      }
      say(`exported ${done} events${options.out ? ` to ${options.out}` : ''}`);
    } finally {
      await pool.end();
      await store.close();
    }
  }, say);
}
