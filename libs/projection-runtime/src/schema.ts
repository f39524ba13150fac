import type { Migration } from '@herald/database';

/**
 * The runtime's own tables: one checkpoint per projection, parked events, and each read
 * model's generations (ADR 034: the one serving, the one a rebuild builds, retired ones
 * waiting for their grace period to end).
 */
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
  {
    id: 'projection-runtime-002-generations',
    sql: `
      CREATE TABLE herald_read_model_generations (
        name         text NOT NULL,
        generation   integer NOT NULL CHECK (generation >= 1),
        state        text NOT NULL CHECK (state IN ('building', 'serving', 'retired', 'dropped', 'abandoned')),
        -- Where its tables are: a build schema, the serving schema, or a retired schema.
        schema_name  text NOT NULL,
        checkpoint   text NOT NULL,
        started_at   timestamptz NOT NULL DEFAULT now(),
        switched_at  timestamptz,
        retired_at   timestamptz,
        drop_after   timestamptz,
        dropped_at   timestamptz,
        PRIMARY KEY (name, generation)
      );
      CREATE UNIQUE INDEX herald_read_model_generations_serving
        ON herald_read_model_generations (name) WHERE state = 'serving';
      -- A parked event the new generation of a rebuild got past is resolved by that rebuild.
      ALTER TABLE herald_projection_dead_letters DROP CONSTRAINT herald_projection_dead_letters_resolution_check;
      ALTER TABLE herald_projection_dead_letters ADD CONSTRAINT herald_projection_dead_letters_resolution_check
        CHECK (resolution IN ('retry', 'skip', 'rebuilt'));
    `,
  },
];
