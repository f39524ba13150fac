/**
 * `herald projections list | status | rebuild | resolve | check`: the read models' state,
 * rebuilds without downtime, parked events, replay determinism (ADR 034). The CLI does the
 * work itself, on its own connections to Herald's PostgreSQL: a rebuild's copy and its
 * switch are database work, and a running Herald follows the switch by itself (its
 * projections and queries name the tables, which the switch swaps), so nothing has to be
 * asked of it and the command works the same whether Herald runs or not.
 */
import { migrateDatabase } from '@herald/database';
import { openConfiguredEventStore, START, type Checkpoint, type EventStore } from '@herald/event-store';
import {
  checkReplay,
  createReadModelDataSource,
  DEFAULT_GRACE_MS,
  dropExpiredGenerations,
  listGenerations,
  openDeadLetter,
  PROJECTION_RUNTIME_MIGRATIONS,
  rebuild,
  RebuildBusy,
  resolveParkedEvent,
  servingCheckpoint,
  servingGeneration,
  type CheckResult,
  type RebuildTarget,
} from '@herald/projection-runtime';
import { READ_MODELS, readModelMigrations, tablePrefix, type ReadModel } from '@herald/projections';
import { Command, Option } from 'commander';
import type { DataSource } from 'typeorm';
import { CliError, EXIT } from '../cli-error.js';
import { withDatabase, type CliDatabase } from '../database.js';
import { progress } from '../progress.js';

/** Lag is counted up to this many events (as /health does). */
const LAG_COUNT_MAX = 100_000;
/** How often the progress bar's position in the log is counted again during a rebuild or check. */
const COUNT_EVERY_MS = 2_000;

const say = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** `timeline` or `timeline.v1`. */
export function readModelNamed(name: string): ReadModel {
  const found = READ_MODELS.find((m) => m.name === name || m.name.split('.')[0] === name);
  if (!found)
    throw new CliError(
      `no read model ${JSON.stringify(name)}; the read models are ${READ_MODELS.map((m) => m.name).join(', ')}`,
      EXIT.usage,
    );
  return found;
}

interface Session {
  readonly db: DataSource;
  readonly store: EventStore;
  readonly database: CliDatabase;
}

async function withSession<T>(work: (session: Session) => Promise<T>): Promise<T> {
  return withDatabase(async (database) => {
    // The events where the configuration keeps them (EVENT_STORE); the read models, their
    // checkpoints and generations in PostgreSQL either way.
    const store = await openConfiguredEventStore(database.config, database.url, { poolSize: 2 });
    let db: DataSource | undefined;
    try {
      await migrateDatabase(database.url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
      // No statement timeout: building an index over a big table takes what it takes.
      db = await createReadModelDataSource({ url: database.url, poolSize: 4 }).initialize();
      await dropExpiredGenerations(db);
      return await work({ db, store, database });
    } finally {
      await db?.destroy();
      await store.close();
    }
  }, say);
}

const targetOf = (readModel: ReadModel, database: CliDatabase): RebuildTarget => ({
  projection: readModel.projection({ language: database.config.searchLanguage }),
  tablePrefix: tablePrefix(readModel),
});

interface Row {
  readonly name: string;
  readonly generation: number;
  readonly checkpoint: Checkpoint;
  /** Events its filter keeps that it has not applied (up to LAG_COUNT_MAX). */
  readonly lag: number;
  readonly state: 'running' | 'parked' | 'rebuilding';
}

async function rowOf(session: Session, readModel: ReadModel): Promise<Row> {
  const { db, store } = session;
  const [generation, checkpoint, parked, generations] = await Promise.all([
    servingGeneration(db, readModel.name),
    servingCheckpoint(db, readModel.name),
    openDeadLetter(db, readModel.name),
    listGenerations(db, readModel.name),
  ]);
  return {
    name: readModel.name,
    generation,
    checkpoint,
    lag: await lagOf(store, readModel, checkpoint),
    state: parked ? 'parked' : generations.some((g) => g.state === 'building') ? 'rebuilding' : 'running',
  };
}

/**
 * Events the read model has yet to apply: those its filter keeps after its checkpoint
 * (which moves only with batches it applies), counted up to LAG_COUNT_MAX.
 */
async function lagOf(store: EventStore, readModel: ReadModel, checkpoint: Checkpoint): Promise<number> {
  const { filter } = readModel.projection();
  let from = checkpoint;
  let lag = 0;
  while (lag < LAG_COUNT_MAX) {
    const page = await store.readAll({ from, limit: 1_000, ...(filter ? { filter } : {}) });
    lag += page.events.length;
    if (page.checkpoint === from) break;
    from = page.checkpoint;
  }
  return Math.min(lag, LAG_COUNT_MAX);
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

const lagText = (lag: number): string => (lag >= LAG_COUNT_MAX ? `${LAG_COUNT_MAX}+` : String(lag));

async function list(options: { json?: boolean }): Promise<void> {
  await withSession(async (session) => {
    const rows = await Promise.all(READ_MODELS.map((m) => rowOf(session, m)));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    process.stdout.write(
      table([
        ['NAME', 'GENERATION', 'STATE', 'LAG', 'CHECKPOINT'],
        ...rows.map((r) => [r.name, String(r.generation), r.state, lagText(r.lag), r.checkpoint]),
      ]),
    );
  });
}

async function status(name: string | undefined, options: { json?: boolean }): Promise<void> {
  const models = name === undefined ? READ_MODELS : [readModelNamed(name)];
  await withSession(async (session) => {
    const report = await Promise.all(
      models.map(async (m) => ({
        ...(await rowOf(session, m)),
        parked: (await openDeadLetter(session.db, m.name)) ?? null,
        generations: await listGenerations(session.db, m.name),
      })),
    );
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    for (const r of report) {
      const lines = [
        `${r.name}: generation ${r.generation} serving, ${r.state}, ${lagText(r.lag)} events behind, checkpoint ${r.checkpoint}`,
      ];
      if (r.parked)
        lines.push(
          `  parked: event ${r.parked.eventId} (${r.parked.eventType}, stream ${r.parked.streamId} revision ${r.parked.streamRevision}) after ${r.parked.attempts} attempts: ${r.parked.error}`,
          `  resolve with: herald projections resolve ${r.name} --retry | --skip`,
        );
      for (const g of r.generations) {
        if (g.state === 'building')
          lines.push(`  generation ${g.generation}: building in schema ${g.schema}, at ${g.checkpoint}`);
        if (g.state === 'retired' && g.dropAfter)
          lines.push(
            `  generation ${g.generation}: retired, its tables in schema ${g.schema} until ${g.dropAfter.toISOString()}`,
          );
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
  });
}

/**
 * A progress bar over the log: the events after START when it began, and how many of them
 * lie before the copy's checkpoint (counted again every COUNT_EVERY_MS).
 */
async function logProgress(
  session: Session,
  label: string,
): Promise<{ at: (checkpoint: Checkpoint) => void; stop: () => void }> {
  const total = await session.store.countEventsAfter(START, Number.MAX_SAFE_INTEGER);
  const bar = progress(label);
  bar.update(0, total);
  let counting = false;
  let countedAt = 0;
  return {
    at(checkpoint) {
      if (counting || Date.now() - countedAt < COUNT_EVERY_MS) return;
      counting = true;
      session.store
        .countEventsAfter(checkpoint, total)
        .then((left) => bar.update(Math.max(0, total - left), total))
        .catch(() => undefined)
        .finally(() => {
          counting = false;
          countedAt = Date.now();
        });
    },
    stop() {
      bar.update(total, total);
      bar.stop();
    },
  };
}

async function rebuildCommand(name: string, options: { grace: number }): Promise<void> {
  const readModel = readModelNamed(name);
  await withSession(async (session) => {
    const bar = await logProgress(session, `rebuilding ${readModel.name}`);
    let phase = 'building';
    let result;
    try {
      result = await rebuild(session.store, session.db, targetOf(readModel, session.database), {
        graceMs: options.grace * 1000,
        onProgress: (p) => {
          if (p.phase !== phase && p.phase !== 'switched') {
            phase = p.phase;
            if (phase === 'indexing') bar.stop();
            say(
              `${readModel.name}: ${phase === 'indexing' ? 'caught up; creating indexes' : 'switching readers over'}`,
            );
          }
          if (p.phase === 'building') bar.at(p.checkpoint);
        },
      });
    } catch (error) {
      if (error instanceof RebuildBusy) throw new CliError(error.message);
      throw new CliError(
        `rebuild of ${readModel.name} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      if (phase === 'building') bar.stop();
    }
    process.stdout.write(
      `${readModel.name}: generation ${result.generation} serving from checkpoint ${result.checkpoint} ` +
        `(${result.applied} events applied in ${(result.totalMs / 1000).toFixed(1)} s); ` +
        `the old tables stay in schema ${result.retiredSchema} until ${result.dropAfter.toISOString()}\n`,
    );
  });
}

async function resolve(name: string, options: { retry?: boolean; skip?: boolean }): Promise<void> {
  const readModel = readModelNamed(name);
  if (options.retry === options.skip) throw new CliError('give exactly one of --retry and --skip', EXIT.usage);
  const resolution = options.retry ? 'retry' : 'skip';
  await withSession(async ({ db }) => {
    const parked = await openDeadLetter(db, readModel.name);
    if (!parked || !(await resolveParkedEvent(db, readModel.name, resolution)))
      throw new CliError(`${readModel.name} has no parked event`);
    process.stdout.write(
      `${readModel.name}: event ${parked.eventId} (${parked.eventType}) ${resolution === 'retry' ? 'will be applied again' : 'skipped'}; the projection goes on\n`,
    );
  });
}

function describeDifference(result: CheckResult): string {
  const d = result.difference!;
  return [
    `${result.name}: DIFFERS from a replay at checkpoint ${result.checkpoint}`,
    `  table ${d.table}, row ${d.row} (rows in canonical order)`,
    `  serving: ${d.live ?? '(no such row)'}`,
    `  replay:  ${d.rebuilt ?? '(no such row)'}`,
  ].join('\n');
}

async function check(name: string | undefined, options: { all?: boolean }): Promise<void> {
  if ((name === undefined) === !options.all) throw new CliError('give a read model or --all', EXIT.usage);
  const models = name === undefined ? READ_MODELS : [readModelNamed(name)];
  await withSession(async (session) => {
    let differ = 0;
    for (const readModel of models) {
      const bar = await logProgress(session, `replaying ${readModel.name}`);
      let result: CheckResult;
      try {
        result = await checkReplay(session.store, session.db, targetOf(readModel, session.database), {
          onProgress: (p) => bar.at(p.checkpoint),
        });
      } catch (error) {
        if (error instanceof RebuildBusy) throw new CliError(error.message);
        throw error;
      } finally {
        bar.stop();
      }
      if (result.identical) {
        const rows = result.tables.reduce((n, t) => n + t.rows, 0);
        process.stdout.write(
          `${readModel.name}: identical to a replay at checkpoint ${result.checkpoint} (${result.tables.length} tables, ${rows} rows)\n`,
        );
      } else {
        differ++;
        process.stdout.write(`${describeDifference(result)}\n`);
      }
    }
    if (differ > 0) process.exitCode = EXIT.failed;
  });
}

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 7 * 86_400)
    throw new CliError(`--grace takes whole seconds, 0 to 604800: ${JSON.stringify(value)}`, EXIT.usage);
  return n;
};

export function registerProjections(program: Command): void {
  const projections = program
    .command('projections')
    .description('The read models: their state, rebuilds without downtime, parked events, replay checks');
  projections
    .command('list')
    .description('Each read model: the generation serving, state (running, parked, rebuilding), lag, checkpoint')
    .option('--json', 'one JSON array on stdout')
    .action(list);
  projections
    .command('status')
    .argument('[name]', 'a read model (timeline or timeline.v1); all when left out')
    .description("A read model's parked event, its build in progress and its retired generations")
    .option('--json', 'JSON on stdout')
    .action(status);
  projections
    .command('rebuild')
    .argument('<name>', 'the read model (timeline or timeline.v1)')
    .description(
      'Builds the read model again from position 0 beside the serving tables, catches up, switches readers over in one transaction, and keeps the old tables for the grace period',
    )
    .addOption(
      new Option('--grace <seconds>', 'how long the old tables are kept after the switch')
        .default(DEFAULT_GRACE_MS / 1000)
        .argParser(seconds),
    )
    .action(rebuildCommand);
  projections
    .command('resolve')
    .argument('<name>', 'the read model stopped at a parked event')
    .description('Resolves the event a read model parked: --retry applies it again (after a fix), --skip passes it')
    .option('--retry', 'apply the parked event again')
    .option('--skip', 'move past the parked event without applying it')
    .action(resolve);
  projections
    .command('check')
    .argument('[name]', 'the read model (timeline or timeline.v1)')
    .description(
      'Replays the read model from position 0 into scratch tables and compares them row for row with the serving tables; exit code 1 and the first differing row when they differ',
    )
    .option('--all', 'every read model')
    .action(check);
}
