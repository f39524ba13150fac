/**
 * A read model's generations: the tables it serves from, and the ones a rebuild or a replay
 * check builds beside them (ADR 034). Readers and the projection runner name a read model's
 * tables without a schema, so they always reach the serving generation's tables, which live
 * in the serving schema (the connection's `current_schema()`, usually `public`) under their
 * usual names. A new generation is built in a schema of its own with the same table names
 * (its transactions put that schema first on their `search_path`, so the projection's own
 * SQL fills it unchanged), then swapped into the serving schema in one transaction.
 */
import { START, type Checkpoint, type EventStore } from '@herald/event-store';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { Projection } from './projection.js';

/** What the rebuild tooling needs of a read model: its projection and what its tables' names start with. */
export interface RebuildTarget {
  readonly projection: Projection;
  /** `rm_<name>_v<version>_`: every table of the read model, and only those, starts with it. */
  readonly tablePrefix: string;
}

export type GenerationState = 'building' | 'serving' | 'retired' | 'dropped' | 'abandoned';

export interface Generation {
  readonly name: string;
  readonly generation: number;
  readonly state: GenerationState;
  /** Where its tables are: the build schema, the serving schema, or the retired schema. */
  readonly schema: string;
  readonly checkpoint: Checkpoint;
  readonly startedAt: Date;
  readonly switchedAt: Date | null;
  readonly dropAfter: Date | null;
}

/** Identifiers PostgreSQL takes as they are (the schema names this module makes are all of this form). */
const PLAIN = /^[a-z_][a-z0-9_]{0,62}$/;
export function ident(name: string): string {
  if (!PLAIN.test(name)) throw new Error(`not a plain identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** `timeline.v1` → `timeline_v1`, for schema names. */
export const schemaPart = (name: string): string => name.replace(/[^a-z0-9]/g, '_');

export const buildSchema = (name: string, generation: number): string =>
  `herald_build_${schemaPart(name)}_g${generation}`;
export const retiredSchema = (name: string, generation: number): string =>
  `herald_retired_${schemaPart(name)}_g${generation}`;

interface GenerationRow {
  name: string;
  generation: number;
  state: GenerationState;
  schema_name: string;
  checkpoint: string;
  started_at: Date;
  switched_at: Date | null;
  drop_after: Date | null;
}

export async function listGenerations(db: DataSource | EntityManager, name?: string): Promise<Generation[]> {
  const rows = await db.query<GenerationRow[]>(
    `SELECT name, generation, state, schema_name, checkpoint, started_at, switched_at, drop_after
       FROM herald_read_model_generations WHERE $1::text IS NULL OR name = $1 ORDER BY name, generation`,
    [name ?? null],
  );
  return rows.map((r) => ({
    name: r.name,
    generation: r.generation,
    state: r.state,
    schema: r.schema_name,
    checkpoint: r.checkpoint as Checkpoint,
    startedAt: r.started_at,
    switchedAt: r.switched_at,
    dropAfter: r.drop_after,
  }));
}

/** The generation a read model serves from: 1 (its migrations' tables) until a rebuild switched. */
export async function servingGeneration(db: DataSource | EntityManager, name: string): Promise<number> {
  const rows = await db.query<{ generation: number }[]>(
    `SELECT generation FROM herald_read_model_generations WHERE name = $1 AND state = 'serving'`,
    [name],
  );
  return rows[0]?.generation ?? 1;
}

export async function currentSchema(db: DataSource | EntityManager | QueryRunner): Promise<string> {
  const rows = (await db.query('SELECT current_schema() AS schema')) as { schema: string | null }[];
  const schema = rows[0]?.schema;
  if (!schema) throw new Error('the connection has no current schema (search_path)');
  return schema;
}

/** The read model's tables in `schema`, by name. */
export async function tablesOf(db: DataSource | EntityManager, schema: string, prefix: string): Promise<string[]> {
  const rows = await db.query<{ relname: string }[]>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND starts_with(c.relname, $2) ORDER BY c.relname`,
    [schema, prefix],
  );
  return rows.map((r) => r.relname);
}

/**
 * Creates `schema` with an empty copy of each of the read model's serving tables: columns,
 * defaults, checks and the unique indexes its `ON CONFLICT`s need. The other indexes are
 * returned, to be created once the copy has caught up (one sort instead of an update per
 * row: ADR 017 measured it for search's GIN indexes). UNLOGGED while building: nobody reads
 * it, and a crash abandons the build anyway; made LOGGED before it serves.
 */
export async function cloneTables(
  db: DataSource,
  serving: string,
  schema: string,
  prefix: string,
): Promise<{ tables: string[]; deferredIndexes: string[] }> {
  const tables = await tablesOf(db, serving, prefix);
  if (tables.length === 0) throw new Error(`no tables starting with ${prefix} in schema ${serving}`);
  const deferredIndexes: string[] = [];
  await db.transaction(async (m) => {
    await m.query(`CREATE SCHEMA ${ident(schema)}`);
    for (const table of tables) {
      const from = `${ident(serving)}.${ident(table)}`;
      const to = `${ident(schema)}.${ident(table)}`;
      await m.query(`CREATE UNLOGGED TABLE ${to} (LIKE ${from} INCLUDING ALL EXCLUDING INDEXES)`);
      const indexes = await m.query<{ name: string; unique: boolean; constraint_def: string | null; def: string }[]>(
        `SELECT ic.relname AS name, i.indisunique AS unique,
                pg_get_constraintdef(con.oid) AS constraint_def,
                replace(pg_get_indexdef(i.indexrelid), ' ON ' || quote_ident($1) || '.', ' ON ' || quote_ident($2) || '.') AS def
           FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
           LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
          WHERE i.indrelid = $3::regclass ORDER BY ic.relname`,
        [serving, schema, from],
      );
      for (const index of indexes) {
        if (index.constraint_def !== null)
          await m.query(`ALTER TABLE ${to} ADD CONSTRAINT ${ident(index.name)} ${index.constraint_def}`);
        else if (index.unique) await m.query(index.def);
        else deferredIndexes.push(index.def);
      }
    }
  });
  // What the projection's SQL will resolve: every table it names must be in the build
  // schema, or a name would fall through to the serving schema's table.
  const built = await tablesOf(db, schema, prefix);
  if (built.join() !== tables.join()) throw new Error(`the copy of ${prefix}* in ${schema} is incomplete`);
  return { tables, deferredIndexes };
}

/** Indexes, LOGGED, statistics: what the copy needs before it serves. */
export async function finishTables(
  db: DataSource,
  schema: string,
  tables: readonly string[],
  deferredIndexes: readonly string[],
): Promise<void> {
  for (const def of deferredIndexes) await db.query(def);
  for (const table of tables) {
    await db.query(`ALTER TABLE ${ident(schema)}.${ident(table)} SET LOGGED`);
    // Without statistics the planner would guess at the new tables' first queries.
    await db.query(`ANALYZE ${ident(schema)}.${ident(table)}`);
  }
}

export interface CatchUpProgress {
  /** Events applied to the copy so far. */
  readonly applied: number;
  readonly checkpoint: Checkpoint;
}

export interface CatchUpOptions {
  readonly batchSize: number;
  /** Stop here exactly (an event after it is not applied); default the head of the log. */
  readonly until?: Checkpoint;
  readonly signal?: AbortSignal;
  readonly onBatch?: (progress: CatchUpProgress) => void;
  /** Apply in this transaction (the switch) rather than one transaction per batch. */
  readonly manager?: EntityManager;
  /** Stores the copy's checkpoint with each batch. */
  readonly storeCheckpoint: (manager: EntityManager, checkpoint: Checkpoint) => Promise<void>;
}

/**
 * Applies the log from `from` to the copy in `schema` with the read model's own projection:
 * each batch in a transaction whose `search_path` puts the copy first, with its checkpoint.
 * The next page is read while one is applied. Returns where it stopped and how many events
 * it applied.
 */
export async function catchUp(
  store: EventStore,
  db: DataSource,
  target: RebuildTarget,
  schema: string,
  serving: string,
  from: Checkpoint,
  options: CatchUpOptions,
): Promise<{ checkpoint: Checkpoint; applied: number }> {
  const { projection } = target;
  const filter = projection.filter ? { filter: projection.filter } : {};
  const until = options.until;
  let checkpoint = from;
  let applied = 0;
  if (until !== undefined && checkpoint >= until) return { checkpoint, applied };
  const read = (after: Checkpoint) => store.readAll({ from: after, limit: options.batchSize, ...filter });
  let next = read(checkpoint);
  for (;;) {
    if (options.signal?.aborted) throw new Error('stopped');
    const page = await next;
    const reachedUntil = until !== undefined && page.checkpoint >= until;
    const events = reachedUntil ? page.events.filter((e) => e.globalPosition <= until) : page.events;
    const to = reachedUntil ? until : page.checkpoint;
    const atHead = page.events.length === 0 && page.checkpoint === checkpoint;
    if (!reachedUntil && !atHead) {
      next = read(page.checkpoint);
      next.catch(() => undefined);
    }
    if (to !== checkpoint) {
      const apply = async (m: EntityManager): Promise<void> => {
        const previous = await m.query<{ search_path: string }[]>('SHOW search_path');
        await m.query(`SELECT set_config('search_path', $1, true)`, [`${ident(schema)}, ${ident(serving)}`]);
        if (events.length > 0) await projection.apply(events, m);
        await m.query(`SELECT set_config('search_path', $1, true)`, [previous[0]?.search_path ?? ident(serving)]);
        await options.storeCheckpoint(m, to);
      };
      if (options.manager) await apply(options.manager);
      else await db.transaction(apply);
      checkpoint = to;
      applied += events.length;
      options.onBatch?.({ applied, checkpoint });
    }
    if (reachedUntil || atHead) return { checkpoint, applied };
  }
}

/** The checkpoint the serving generation holds (START when the projection never ran). */
export async function servingCheckpoint(db: DataSource | EntityManager, name: string): Promise<Checkpoint> {
  const rows = await db.query<{ checkpoint: string }[]>(
    'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1',
    [name],
  );
  return (rows[0]?.checkpoint as Checkpoint | undefined) ?? START;
}

/**
 * Drops the tables of every retired generation whose grace period is over, and of builds
 * nobody is running any more (their builder died: a build holds its read model's rebuild
 * lock, see `rebuild.ts`). Run by the running Herald every minute and by every `herald
 * projections` command. Returns the schemas dropped.
 */
export async function dropExpiredGenerations(db: DataSource): Promise<string[]> {
  const expired = await db.query<{ name: string; generation: number; schema_name: string }[]>(
    `SELECT name, generation, schema_name FROM herald_read_model_generations
      WHERE state = 'retired' AND drop_after <= now()`,
  );
  const dropped: string[] = [];
  for (const row of expired) {
    await db.transaction(async (m) => {
      await m.query(`DROP SCHEMA IF EXISTS ${ident(row.schema_name)} CASCADE`);
      await m.query(
        `UPDATE herald_read_model_generations SET state = 'dropped', dropped_at = now()
          WHERE name = $1 AND generation = $2 AND state = 'retired'`,
        [row.name, row.generation],
      );
    });
    dropped.push(row.schema_name);
  }
  const building = await db.query<{ name: string; generation: number; schema_name: string }[]>(
    `SELECT name, generation, schema_name FROM herald_read_model_generations WHERE state = 'building'`,
  );
  for (const row of building) {
    const lock = await RebuildLock.tryAcquire(db, row.name);
    if (!lock) continue;
    try {
      await abandon(db, row.name, row.generation, row.schema_name);
      dropped.push(row.schema_name);
    } finally {
      await lock.release();
    }
  }
  return dropped;
}

export async function abandon(db: DataSource, name: string, generation: number, schema: string): Promise<void> {
  await db.transaction(async (m) => {
    await m.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await m.query(
      `UPDATE herald_read_model_generations SET state = 'abandoned', dropped_at = now()
        WHERE name = $1 AND generation = $2 AND state = 'building'`,
      [name, generation],
    );
  });
}

/**
 * One rebuild or replay check per read model at a time, across processes: a session
 * advisory lock on a connection of its own, held while the work lasts.
 */
export class RebuildLock {
  private constructor(
    private readonly connection: QueryRunner,
    private readonly key: string,
  ) {}

  static async tryAcquire(db: DataSource, name: string): Promise<RebuildLock | undefined> {
    const key = `herald.rebuild:${name}`;
    const connection = db.createQueryRunner();
    await connection.connect();
    try {
      const rows = (await connection.query('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [key])) as {
        locked: boolean;
      }[];
      if (rows[0]?.locked === true) return new RebuildLock(connection, key);
    } catch (error) {
      await connection.release();
      throw error;
    }
    await connection.release();
    return undefined;
  }

  async release(): Promise<void> {
    await this.connection.query('SELECT pg_advisory_unlock(hashtext($1))', [this.key]).catch(() => undefined);
    await this.connection.release().catch(() => undefined);
  }
}
