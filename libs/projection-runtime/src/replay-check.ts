/**
 * Replay determinism (ADR 034): a read model rebuilt from position 0 into fresh tables must
 * hold, row for row, what its serving tables hold at the same checkpoint. The copy is built
 * in a scratch schema up to the serving checkpoint, then both are dumped in a canonical
 * order (each row's text form, compared bytewise) and compared; the serving side is read in
 * one REPEATABLE READ snapshot that also fixes the checkpoint, so a running Herald goes on
 * applying meanwhile. The scratch schema is dropped whatever happens.
 */
import { START, type Checkpoint, type EventStore } from '@herald/event-store';
import type { DataSource, QueryRunner } from 'typeorm';
import {
  catchUp,
  cloneTables,
  currentSchema,
  ident,
  RebuildLock,
  schemaPart,
  servingCheckpoint,
  type RebuildTarget,
} from './generations.js';
import { REBUILD_BATCH_SIZE, RebuildBusy } from './rebuild.js';

/** Rows fetched from each side at a time. */
const FETCH = 2_000;

export interface RowDifference {
  readonly table: string;
  /** 1-based, in the canonical order (rows sorted by their text form). */
  readonly row: number;
  /** The serving table's row there (null: the serving table has fewer rows). */
  readonly live: string | null;
  /** The rebuilt table's row there (null: the rebuilt table has fewer rows). */
  readonly rebuilt: string | null;
}

export interface CheckResult {
  readonly name: string;
  readonly checkpoint: Checkpoint;
  readonly identical: boolean;
  /** Rows compared per table (up to the first difference). */
  readonly tables: readonly { readonly table: string; readonly rows: number }[];
  readonly difference?: RowDifference;
}

export interface CheckOptions {
  readonly batchSize?: number;
  readonly onProgress?: (progress: { applied: number; checkpoint: Checkpoint }) => void;
}

export async function checkReplay(
  store: EventStore,
  db: DataSource,
  target: RebuildTarget,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const name = target.projection.name;
  const lock = await RebuildLock.tryAcquire(db, name);
  if (!lock) throw new RebuildBusy(name);
  const schema = `herald_check_${schemaPart(name)}`;
  try {
    // A check that died left its schema; nobody else uses it while the lock is held.
    await db.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    const serving = await currentSchema(db);
    const { tables } = await cloneTables(db, serving, schema, target.tablePrefix);
    // Only up to where the serving tables are: the copy must not pass them.
    const storeCheckpoint = (): Promise<void> => Promise.resolve();
    const batchSize = options.batchSize ?? REBUILD_BATCH_SIZE;
    const first = await catchUp(store, db, target, schema, serving, START, {
      batchSize,
      until: await servingCheckpoint(db, name),
      storeCheckpoint,
      ...(options.onProgress ? { onBatch: options.onProgress } : {}),
    });
    const live = db.createQueryRunner();
    const rebuilt = db.createQueryRunner();
    await live.connect();
    await rebuilt.connect();
    try {
      await live.query('SET idle_in_transaction_session_timeout = 0');
      await live.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const checkpoint = await servingCheckpoint(live.manager, name);
      const last = await catchUp(store, db, target, schema, serving, first.checkpoint, {
        batchSize,
        until: checkpoint,
        storeCheckpoint,
        ...(options.onProgress
          ? { onBatch: (p) => options.onProgress?.({ applied: first.applied + p.applied, checkpoint: p.checkpoint }) }
          : {}),
      });
      if (last.checkpoint < checkpoint)
        throw new Error(`${name}: the copy could not reach the serving checkpoint ${checkpoint}`);
      await rebuilt.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const compared: { table: string; rows: number }[] = [];
      for (const table of tables) {
        const outcome = await compareTable(live, rebuilt, serving, schema, table);
        compared.push({ table, rows: outcome.rows });
        if (outcome.difference)
          return { name, checkpoint, identical: false, tables: compared, difference: outcome.difference };
      }
      return { name, checkpoint, identical: true, tables: compared };
    } finally {
      await live.query('ROLLBACK').catch(() => undefined);
      await rebuilt.query('ROLLBACK').catch(() => undefined);
      await live.release();
      await rebuilt.release();
    }
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`).catch(() => undefined);
    await lock.release();
  }
}

/** Both sides through cursors in the same canonical order, FETCH rows at a time: constant memory. */
async function compareTable(
  live: QueryRunner,
  rebuilt: QueryRunner,
  serving: string,
  schema: string,
  table: string,
): Promise<{ rows: number; difference?: RowDifference }> {
  const declare = (cursor: string, from: string): string =>
    `DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT t::text AS row FROM ${from}.${ident(table)} t ORDER BY t::text COLLATE "C"`;
  await live.query(declare('herald_live', ident(serving)));
  await rebuilt.query(declare('herald_rebuilt', ident(schema)));
  let rows = 0;
  try {
    for (;;) {
      const [a, b] = (await Promise.all([
        live.query(`FETCH ${FETCH} FROM herald_live`),
        rebuilt.query(`FETCH ${FETCH} FROM herald_rebuilt`),
      ])) as [{ row: string }[], { row: string }[]];
      const n = Math.max(a.length, b.length);
      for (let i = 0; i < n; i++) {
        const l = a[i]?.row ?? null;
        const r = b[i]?.row ?? null;
        if (l !== r) return { rows, difference: { table, row: rows + 1, live: l, rebuilt: r } };
        rows++;
      }
      if (n < FETCH) return { rows };
    }
  } finally {
    await live.query('CLOSE herald_live').catch(() => undefined);
    await rebuilt.query('CLOSE herald_rebuilt').catch(() => undefined);
  }
}
