/**
 * `herald verify`: checks that the event log was not tampered with (ADR 030) — every
 * stream's hash chain and every seal, or one stream, or a checkpoint range; with
 * `--digest`, that nothing before a digest kept outside Herald was rewritten, deleted or
 * reordered. Exit code 0 when everything holds, 1 at the first broken link (named by
 * stream, revision and checkpoint, or by seal), 2 for a wrong command line. On the
 * EventStoreDB event store the chains are checked through the port (every stream, or one);
 * seals, digests and ranges are the PostgreSQL log's (ADR 026, ADR 030).
 */
import { Option, type Command } from 'commander';
import {
  EventStoreDbEventStore,
  EventStoreUnavailable,
  isCheckpoint,
  parseDigest,
  TamperEvidence,
  verifyEveryChain,
  verifyStreamChain,
  type Checkpoint,
  type VerifyOptions,
  type VerifyReport,
} from '@herald/event-store';
import { CliError, EXIT } from '../cli-error.js';
import { loadConfig, withDatabase } from '../database.js';
import { progress } from '../progress.js';

interface VerifyFlags {
  readonly stream?: string;
  readonly from?: string;
  readonly to?: string;
  readonly digest?: string;
  readonly json?: boolean;
  readonly threads?: string;
}

const checkpoint = (flag: string, value: string | undefined): Checkpoint | undefined => {
  if (value === undefined) return undefined;
  if (!isCheckpoint(value))
    throw new CliError(`${flag} must be a checkpoint (hhhhhhhhhhhhhhhh-hhhhhhhhhhhhhhhh)`, EXIT.usage);
  return value;
};

/** The options of a command line, or a usage error before anything is opened. */
export function verifyOptions(flags: VerifyFlags): VerifyOptions {
  const digest = flags.digest === undefined ? undefined : parseDigest(flags.digest);
  if (flags.digest !== undefined && !digest) {
    throw new CliError(
      '--digest must be a digest as Herald prints it: herald-digest:v1:<seal>:<checkpoint>:<hash>',
      EXIT.usage,
    );
  }
  if (flags.stream !== undefined && (flags.from ?? flags.to ?? flags.digest) !== undefined) {
    throw new CliError('--stream checks one stream whole: it takes no --from, --to or --digest', EXIT.usage);
  }
  const threads = flags.threads === undefined ? undefined : Number(flags.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) {
    throw new CliError('--threads must be a whole number from 1 to 64', EXIT.usage);
  }
  const from = checkpoint('--from', flags.from);
  const to = checkpoint('--to', flags.to);
  if (from && to && from >= to) throw new CliError('--from must be before --to', EXIT.usage);
  return {
    ...(flags.stream !== undefined ? { stream: flags.stream } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(digest ? { digest } : {}),
    ...(threads !== undefined ? { threads } : {}),
  };
}

function describe(report: VerifyReport, latest: string | undefined): string {
  if (report.broken) {
    const b = report.broken;
    const where = [
      b.streamId !== undefined ? `stream ${b.streamId}` : undefined,
      b.revision !== undefined ? `revision ${b.revision}` : undefined,
      b.checkpoint !== undefined ? `checkpoint ${b.checkpoint}` : undefined,
      b.sealNumber !== undefined ? `seal ${b.sealNumber}` : undefined,
    ].filter(Boolean);
    return `BROKEN at ${where.join(', ')}: ${b.reason} (${report.events} events checked before it)`;
  }
  const lines = [
    `ok: ${report.events} events` +
      (report.streams !== undefined ? ` in ${report.streams} streams` : '') +
      `, ${report.seals} seals verified` +
      (report.unsealed > 0 ? ` (${report.unsealed} newest events not sealed yet)` : '') +
      (report.firstRevision !== undefined
        ? ` (from revision ${report.firstRevision}: the store no longer serves the revisions before it)`
        : '') +
      (report.streamsCut
        ? ` (${report.streamsCut} streams from a later revision: the store no longer serves their first events)`
        : ''),
  ];
  if (latest) lines.push(`newest digest (keep it outside Herald): ${latest}`);
  return lines.join('\n');
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description(
      "Checks the event log's hash chains and seals (all, one stream, or a checkpoint range); " +
        'with --digest, proves nothing before that digest was rewritten, deleted or reordered. ' +
        'With EVENT_STORE=eventstoredb: the chains only (no seals there: no ranges, no digests). ' +
        'Exit code 0: intact; 1: a broken link (named on stdout); 2: usage.',
    )
    .addOption(new Option('--stream <id>', "check one stream's chain only"))
    .addOption(new Option('--from <checkpoint>', 'check events after this checkpoint (widened to whole seals)'))
    .addOption(new Option('--to <checkpoint>', 'check events up to this checkpoint (widened to whole seals)'))
    .addOption(new Option('--digest <digest>', 'a digest kept earlier: checks the log from its start through it'))
    .addOption(new Option('--json', 'print the report as one JSON object'))
    .addOption(
      new Option(
        '--threads <n>',
        'worker threads checking the log side by side, each a run of whole seals (default: one per core)',
      ),
    )
    .action(async (flags: VerifyFlags) => {
      const options = verifyOptions(flags);
      const { eventStore } = loadConfig();
      if (eventStore.kind === 'eventstoredb') {
        await verifyOnEventStoreDb(eventStore.url, options, flags.json === true);
        return;
      }
      await withDatabase(
        async (database) => {
          const evidence = new TamperEvidence({ connectionString: database.url });
          const bar = progress('verify');
          try {
            const report = await evidence.verify({ ...options, onProgress: (done, total) => bar.update(done, total) });
            bar.stop();
            const latest = (await evidence.latestDigest())?.digest;
            process.stdout.write(
              flags.json
                ? `${JSON.stringify({ ...report, latestDigest: latest ?? null })}\n`
                : `${describe(report, latest)}\n`,
            );
            if (!report.ok) process.exitCode = EXIT.failed;
          } catch (error) {
            bar.stop();
            if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '42703') {
              throw new CliError(
                'this database holds no Herald event log with hashes: start Herald once to migrate it',
              );
            }
            throw error;
          } finally {
            await evidence.close();
          }
        },
        (line) => process.stderr.write(`${line}\n`),
      );
    });
}

/** Said when a check needs the seals, which only the PostgreSQL event store has. */
export const NO_SEALS_ON_EVENTSTOREDB =
  'the events are in EventStoreDB (EVENT_STORE=eventstoredb): herald verify checks the hash chains of every stream ' +
  "or of one (--stream <id>); --from/--to, --digest and proofs need the seals, which only Herald's PostgreSQL " +
  'event store has (docs/adr/026-eventstoredb-adapter.md)';

/**
 * On EventStoreDB, through the event store port: one stream's chain (the same check as on
 * PostgreSQL), or every stream's, met in log order. No seals: ranges and digests are refused.
 */
async function verifyOnEventStoreDb(url: string, options: VerifyOptions, json: boolean): Promise<void> {
  if (options.from !== undefined || options.to !== undefined || options.digest !== undefined) {
    throw new CliError(NO_SEALS_ON_EVENTSTOREDB, EXIT.usage);
  }
  const store = new EventStoreDbEventStore({ connectionString: url });
  const bar = progress('verify');
  try {
    const onProgress = (done: number, total: number | undefined): void => bar.update(done, total);
    const report =
      options.stream === undefined
        ? await verifyEveryChain(store, { onProgress })
        : await verifyStreamChain(store, options.stream, { onProgress });
    bar.stop();
    if (options.stream !== undefined && report.events === 0 && !json) {
      // Nothing checked is not "intact": say what the server serves of the stream.
      process.stderr.write(
        `herald: EventStoreDB serves no event of ${options.stream}: it does not exist, or it was deleted or is past retention\n`,
      );
    }
    process.stdout.write(
      json ? `${JSON.stringify({ ...report, latestDigest: null })}\n` : `${describe(report, undefined)}\n`,
    );
    if (!report.ok) process.exitCode = EXIT.failed;
  } catch (error) {
    bar.stop();
    if (error instanceof EventStoreUnavailable) throw new CliError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}
