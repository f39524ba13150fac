/**
 * Rebuilds a read model without downtime (ADR 034): its next generation is built from
 * position 0 in a schema of its own beside the serving tables, catches up with the log,
 * then takes their place in one transaction; the old tables stay in a retired schema for a
 * grace period, then are dropped.
 *
 * The switch takes the serving tables' ACCESS EXCLUSIVE locks (a short `lock_timeout`,
 * retried, so that queued readers wait well under a second), locks the projection's
 * checkpoint row, applies to the copy the last events up to that checkpoint, and moves the
 * tables: serving → retired schema, copy → serving schema. Readers that waited meanwhile
 * resolve the table names again once the locks go and read the new tables, which hold at
 * least what the old ones held (nothing goes backwards). The checkpoint stays where the
 * running projection left it, so a running Herald's runner goes on writing into the new
 * tables with its next batch without being told; had the copy gone further (the serving
 * projection stopped at a parked event the new code gets past), the checkpoint moves on and
 * the runner's compare-and-set fails once (LostLock), after which it reloads it.
 */
import { isTransientPgError } from '@herald/database';
import { START, type Checkpoint, type EventStore } from '@herald/event-store';
import type { DataSource, EntityManager } from 'typeorm';
import {
  abandon,
  buildSchema,
  catchUp,
  cloneTables,
  currentSchema,
  dropExpiredGenerations,
  finishTables,
  ident,
  RebuildLock,
  retiredSchema,
  servingGeneration,
  type RebuildTarget,
} from './generations.js';

/** How long the old tables stay (in their retired schema) after a switch, unless told otherwise. */
export const DEFAULT_GRACE_MS = 10 * 60_000;
/** Events per transaction while a copy catches up: bigger than the serving runner's 500, fewer commits. */
export const REBUILD_BATCH_SIZE = 5_000;
/** How long the switch waits for the serving tables' locks before it lets readers through and tries again. */
const SWITCH_LOCK_TIMEOUT_MS = 500;
const SWITCH_ATTEMPTS = 40;

export class RebuildBusy extends Error {
  constructor(name: string) {
    super(`a rebuild or check of ${name} is already running`);
  }
}

export interface RebuildPhase {
  readonly phase: 'building' | 'indexing' | 'switching' | 'switched';
  /** Events applied to the copy so far. */
  readonly applied: number;
  readonly checkpoint: Checkpoint;
}

export interface RebuildOptions {
  readonly graceMs?: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: RebuildPhase) => void;
}

export interface RebuildResult {
  readonly name: string;
  readonly generation: number;
  /** Events the copy applied (those the projection's filter keeps). */
  readonly applied: number;
  /** Where the new generation was when it started serving. */
  readonly checkpoint: Checkpoint;
  /** The old generation's tables, dropped after `dropAfter`. */
  readonly retiredSchema: string;
  readonly dropAfter: Date;
  /** From the first event applied to the copy's last catch-up, before indexes and the switch. */
  readonly buildMs: number;
  readonly totalMs: number;
}

export async function rebuild(
  store: EventStore,
  db: DataSource,
  target: RebuildTarget,
  options: RebuildOptions = {},
): Promise<RebuildResult> {
  const name = target.projection.name;
  const started = Date.now();
  const lock = await RebuildLock.tryAcquire(db, name);
  if (!lock) throw new RebuildBusy(name);
  try {
    await dropExpiredGenerations(db);
    const serving = await currentSchema(db);
    const generation = await nextGeneration(db, name);
    const schema = buildSchema(name, generation);
    await db.query(
      `INSERT INTO herald_read_model_generations (name, generation, state, schema_name, checkpoint)
       VALUES ($1, $2, 'building', $3, $4)`,
      [name, generation, schema, START],
    );
    try {
      const { tables, deferredIndexes } = await cloneTables(db, serving, schema, target.tablePrefix);
      const storeCheckpoint = async (m: EntityManager, checkpoint: Checkpoint): Promise<void> => {
        await m.query(`UPDATE herald_read_model_generations SET checkpoint = $3 WHERE name = $1 AND generation = $2`, [
          name,
          generation,
          checkpoint,
        ]);
      };
      const batchSize = options.batchSize ?? REBUILD_BATCH_SIZE;
      const report = (phase: RebuildPhase['phase']) => (p: { applied: number; checkpoint: Checkpoint }) =>
        options.onProgress?.({ phase, ...p });
      const building = Date.now();
      let done = await catchUp(store, db, target, schema, serving, START, {
        batchSize,
        storeCheckpoint,
        onBatch: report('building'),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const buildMs = Date.now() - building;
      report('indexing')(done);
      await finishTables(db, schema, tables, deferredIndexes);
      // Events came while the indexes were made.
      const more = await catchUp(store, db, target, schema, serving, done.checkpoint, {
        batchSize,
        storeCheckpoint,
        onBatch: (p) => report('indexing')({ applied: done.applied + p.applied, checkpoint: p.checkpoint }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      done = { checkpoint: more.checkpoint, applied: done.applied + more.applied };
      report('switching')(done);
      const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
      const switched = await switchOver(store, db, target, {
        generation,
        schema,
        serving,
        tables,
        from: done.checkpoint,
        graceMs,
        storeCheckpoint,
      });
      const applied = done.applied + switched.applied;
      options.onProgress?.({ phase: 'switched', applied, checkpoint: switched.checkpoint });
      return {
        name,
        generation,
        applied,
        checkpoint: switched.checkpoint,
        retiredSchema: switched.retiredSchema,
        dropAfter: switched.dropAfter,
        buildMs,
        totalMs: Date.now() - started,
      };
    } catch (error) {
      await abandon(db, name, generation, schema).catch(() => undefined);
      throw error;
    }
  } finally {
    await lock.release();
  }
}

async function nextGeneration(db: DataSource, name: string): Promise<number> {
  const rows = await db.query<{ last: number | null }[]>(
    'SELECT max(generation) AS last FROM herald_read_model_generations WHERE name = $1',
    [name],
  );
  return Math.max(rows[0]?.last ?? 1, await servingGeneration(db, name)) + 1;
}

interface SwitchPlan {
  readonly generation: number;
  readonly schema: string;
  readonly serving: string;
  readonly tables: readonly string[];
  readonly from: Checkpoint;
  readonly graceMs: number;
  readonly storeCheckpoint: (m: EntityManager, checkpoint: Checkpoint) => Promise<void>;
}

async function switchOver(
  store: EventStore,
  db: DataSource,
  target: RebuildTarget,
  plan: SwitchPlan,
): Promise<{ applied: number; checkpoint: Checkpoint; retiredSchema: string; dropAfter: Date }> {
  const name = target.projection.name;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(async (m) => {
        await m.query(`SELECT set_config('lock_timeout', $1, true)`, [`${SWITCH_LOCK_TIMEOUT_MS}ms`]);
        const servingTables = plan.tables.map((t) => `${ident(plan.serving)}.${ident(t)}`);
        await m.query(`LOCK TABLE ${servingTables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
        // The runner stores its checkpoint last in each batch: with the tables locked, a
        // batch either committed before (and is in this checkpoint) or waits for the switch.
        await m.query(
          `INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
          [name, START],
        );
        const [live] = await m.query<{ checkpoint: string }[]>(
          'SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1 FOR UPDATE',
          [name],
        );
        const liveCheckpoint = (live?.checkpoint ?? START) as Checkpoint;
        let checkpoint = plan.from;
        let applied = 0;
        if (liveCheckpoint > checkpoint) {
          const last = await catchUp(store, db, target, plan.schema, plan.serving, checkpoint, {
            batchSize: REBUILD_BATCH_SIZE,
            until: liveCheckpoint,
            manager: m,
            storeCheckpoint: plan.storeCheckpoint,
          });
          if (last.checkpoint !== liveCheckpoint)
            throw new Error(`${name}: the copy could not reach the serving checkpoint ${liveCheckpoint}`);
          checkpoint = last.checkpoint;
          applied = last.applied;
        }
        const old = await servingGeneration(m, name);
        const retired = retiredSchema(name, old);
        await m.query(`CREATE SCHEMA ${ident(retired)}`);
        for (const table of plan.tables)
          await m.query(`ALTER TABLE ${ident(plan.serving)}.${ident(table)} SET SCHEMA ${ident(retired)}`);
        for (const table of plan.tables)
          await m.query(`ALTER TABLE ${ident(plan.schema)}.${ident(table)} SET SCHEMA ${ident(plan.serving)}`);
        await m.query(`DROP SCHEMA ${ident(plan.schema)}`);
        if (checkpoint !== liveCheckpoint) {
          await m.query(
            'UPDATE herald_projection_checkpoints SET checkpoint = $2, updated_at = now() WHERE name = $1',
            [name, checkpoint],
          );
          // A parked event the new generation is past no longer stops the projection.
          await m.query(
            `UPDATE herald_projection_dead_letters SET resolution = 'rebuilt', resolved_at = now()
              WHERE projection = $1 AND resolved_at IS NULL AND global_position <= $2`,
            [name, checkpoint],
          );
        }
        const [{ drop_after: dropAfter }] = await m.query<[{ drop_after: Date }]>(
          `INSERT INTO herald_read_model_generations
             (name, generation, state, schema_name, checkpoint, started_at, retired_at, drop_after)
           VALUES ($1, $2, 'retired', $3, $4, now(), now(), now() + $5 * interval '1 millisecond')
           ON CONFLICT (name, generation) DO UPDATE
             SET state = 'retired', schema_name = $3, checkpoint = $4, retired_at = now(), drop_after = EXCLUDED.drop_after
           RETURNING drop_after`,
          [name, old, retired, liveCheckpoint, plan.graceMs],
        );
        await m.query(
          `UPDATE herald_read_model_generations SET state = 'serving', schema_name = $3, checkpoint = $4, switched_at = now()
            WHERE name = $1 AND generation = $2`,
          [name, plan.generation, plan.serving, checkpoint],
        );
        return { applied, checkpoint, retiredSchema: retired, dropAfter };
      });
    } catch (error) {
      // A lock not granted in time (readers or a batch held it), or a deadlock with a batch
      // that had locked one table and waited for another: let them through, try again.
      const code = (error as { code?: string }).code;
      const retry = code === '55P03' || code === '40P01' || isTransientPgError(error);
      if (!retry || attempt >= SWITCH_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 1_000)));
    }
  }
}
