/**
 * Given-when-then specifications of read models against the embedded PostgreSQL, in the
 * manner of Emmett's PostgreSQLProjectionSpec: given these events (already applied), when
 * these are applied, then these query results. Every `then` also holds after the events
 * are delivered again (the whole history as one batch, then each new event on its own),
 * so each case checks idempotency too. One database per spec file, fresh ids per case.
 */
import { migrateDatabase, type Migration } from '@herald/database';
import { parseCheckpoint, type RecordedEvent } from '@herald/event-store';
import type { CatalogueEvent } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll } from 'vitest';
import { freshDatabase } from './database.js';

/** What a spec needs of a read model (a registry entry gives it). */
export interface SpecifiedReadModel {
  readonly migrations: readonly Migration[];
  projection(): Projection;
}

/** An event in the stream it belongs to (`conversation-<id>`, `receipts-<userId>`, ...). */
export interface InStream {
  readonly stream: string;
  readonly event: CatalogueEvent;
}

export interface ProjectionSpec {
  /** Events the read models have applied before. */
  given(...events: readonly InStream[]): ProjectionSpecWhen;
  /** The database, migrated, for what a case checks beyond its `then`. */
  database(): Promise<DataSource>;
  /** Events recorded in order, with stream revisions and global positions carried on from the spec's earlier events. */
  record(events: readonly InStream[]): RecordedEvent[];
  /** Applies recorded events to every read model of the spec, one transaction each. */
  apply(events: readonly RecordedEvent[]): Promise<void>;
}

export interface ProjectionSpecWhen {
  when(...events: readonly InStream[]): ProjectionSpecThen;
}

export interface ProjectionSpecThen {
  then(check: (db: DataSource) => Promise<void>): Promise<void>;
}

/** When each event was decided: one second apart from the start of 2026, by its global position. */
export const specTime = (position: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, position)).toISOString();

export function projectionSpec(readModels: readonly SpecifiedReadModel[]): ProjectionSpec {
  let db: Promise<DataSource> | undefined;
  let position = 0;
  const revisions = new Map<string, number>();
  const projections = readModels.map((m) => m.projection());

  afterAll(async () => {
    if (db) await (await db).destroy();
  });

  const database = (): Promise<DataSource> =>
    (db ??= (async () => {
      const url = await freshDatabase();
      await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModels.flatMap((m) => m.migrations)]);
      return createReadModelDataSource({ url, poolSize: 2 }).initialize();
    })());

  const record = (events: readonly InStream[]): RecordedEvent[] =>
    events.map(({ stream, event }) => {
      const revision = (revisions.get(stream) ?? -1) + 1;
      revisions.set(stream, revision);
      const at = position++;
      return {
        eventId: randomUUID(),
        type: event.type,
        schemaVersion: 1,
        data: event.data,
        metadata: { actorId: randomUUID(), correlationId: 'spec', causationId: 'spec', occurredAt: specTime(at) },
        streamId: stream,
        streamRevision: revision,
        globalPosition: parseCheckpoint(`${String(at).padStart(16, '0')}-0000000000000000`),
        recordedAt: new Date(0),
      };
    });

  const apply = async (events: readonly RecordedEvent[]): Promise<void> => {
    const on = await database();
    for (const projection of projections) {
      const { streamPrefixes, eventTypes } = projection.filter ?? {};
      const read = events.filter(
        (e) =>
          (streamPrefixes ?? ['']).some((prefix) => e.streamId.startsWith(prefix)) &&
          (!eventTypes || eventTypes.includes(e.type)),
      );
      await on.transaction((manager) => projection.apply(read, manager));
    }
  };

  return {
    database,
    record,
    apply,
    given: (...history) => ({
      when: (...events) => ({
        then: async (check) => {
          const before = record(history);
          const now = record(events);
          await apply(before);
          await apply(now);
          const on = await database();
          await check(on);
          // Delivered again: the whole history in one batch, then each new event alone.
          await apply([...before, ...now]);
          for (const event of now) await apply([event]);
          await check(on);
        },
      }),
    }),
  };
}
