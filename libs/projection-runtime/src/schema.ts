import type { Migration } from '@herald/database';

/** The runtime's own tables: one checkpoint per projection, and parked events. */
export const PROJECTION_RUNTIME_MIGRATIONS: readonly Migration[] = [
  {
    id: 'projection-runtime-001',
    sql: `
      CREATE TABLE herald_projection_checkpoints (
        name        text PRIMARY KEY,
        checkpoint  text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE herald_projection_dead_letters (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        projection       text NOT NULL,
        event_id         uuid NOT NULL,
        stream_id        text NOT NULL,
        stream_revision  bigint NOT NULL,
        global_position  text NOT NULL,
        event_type       text NOT NULL,
        error            text NOT NULL,
        attempts         integer NOT NULL,
        parked_at        timestamptz NOT NULL DEFAULT now(),
        resolution       text CHECK (resolution IN ('retry', 'skip')),
        resolved_at      timestamptz
      );
      CREATE UNIQUE INDEX herald_projection_dead_letters_open
        ON herald_projection_dead_letters (projection) WHERE resolved_at IS NULL;
    `,
  },
];
