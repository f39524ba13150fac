/**
 * `herald export`: the event log, or the part the filters select, as NDJSON (the lines of
 * GET /audit/log, the same filters) to a file or stdout; progress on stderr. Read through
 * the event store port (`auditLog`) from the store Herald is configured with, PostgreSQL
 * or EventStoreDB, a window at a time and written with backpressure, so memory stays flat
 * whatever the log's size. Each export is recorded in the `audit-cli` audit stream, as who
 * ran it.
 */
import {
  AuditLogParams,
  auditLogQueryOf,
  auditParamsProblem,
  EventStoreUnavailable,
  UnsupportedRead,
  type EventStore,
} from '@herald/event-store';
import { recordAuditRead } from '@herald/identity';
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { CliError, EXIT } from '../cli-error.js';
import { withEventStore } from '../database.js';
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
    .option(
      '--since <time>',
      'events recorded at or after this time (ISO 8601 with offset); read in recorded order. ' +
        'On EventStoreDB only with --conversation',
    )
    .option('--until <time>', 'events recorded before this time (ISO 8601 with offset)')
    .option('--type <types>', 'only these event types, comma-separated')
    .option('--category <categories>', 'only streams of these categories, comma-separated (conversation, user, ...)')
    .option('--actor <actorId>', "only events whose metadata's actorId is this")
    .option('--conversation <id>', "only this conversation's stream")
    .action(async (options: ExportOptions) => exportLog(options));
}

/** The filters as given on the command line, checked as GET /audit/log checks them; a usage error otherwise. */
export function exportParams(options: ExportOptions): { params: AuditLogParams; given: Record<string, string> } {
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
  return { params: parsed.data, given };
}

/**
 * Records the export in `audit-cli` (as GET /audit/log records a read before answering it),
 * then writes its lines to `out` as `out` drains; returns how many events were written. What
 * the store cannot answer (UnsupportedRead) is exit code 2 with the store's reason, before
 * any line is written; an unreachable store, 1.
 */
export async function writeExport(
  store: EventStore,
  { params, given }: { params: AuditLogParams; given: Record<string, string> },
  out: Writable,
  counted: (done: number) => void = () => undefined,
): Promise<number> {
  let done = 0;
  try {
    const actor = cliActor();
    await recordAuditRead(store, actor, 'herald export', given, {
      actorId: actor,
      correlationId: randomUUID(),
      now: new Date(),
    });
    const lines = await store.auditLog(auditLogQueryOf(params), (n) => counted((done += n)));
    for await (const chunk of lines) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } catch (error) {
    if (error instanceof UnsupportedRead) throw new CliError(error.message, EXIT.usage);
    if (error instanceof EventStoreUnavailable) throw new CliError(error.message);
    throw error;
  }
  return done;
}

async function exportLog(options: ExportOptions): Promise<void> {
  const request = exportParams(options);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  await withEventStore(
    async (store) => {
      const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
      const shown = progress('export');
      const done = await writeExport(store, request, out, (n) => shown.update(n));
      shown.stop();
      if (options.out) {
        out.end();
        await once(out, 'finish');
      }
      say(`exported ${done} events${options.out ? ` to ${options.out}` : ''}`);
      // Two windows built at once (two backends), of 500 rows: ~160 MB at most (docs/benchmarks.md).
    },
    say,
    { auditReads: { windowsAtOnce: 2, window: 500 } },
  );
}
