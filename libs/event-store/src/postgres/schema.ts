import { READ_MODEL_APPLICATION_NAME, type Migration } from '@herald/database';

/**
 * The event log. `tx_id` is the writing transaction's id (xid8): readers of the global log
 * only see rows whose transaction is older than every transaction still running, so a row
 * that commits late can never appear behind a checkpoint a reader already passed.
 * `herald_streams` holds only what is set on a stream (retention, soft delete): a stream's
 * revision is its newest event's, and writers of a stream serialize on an advisory lock.
 * `data` and `metadata` are `json`: kept byte for byte as written (what a hash chain
 * needs), and cheaper to write than `jsonb`.
 */
export const EVENT_STORE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'event-store-001-log',
    sql: `
      CREATE TABLE herald_streams (
        stream_id        text PRIMARY KEY,
        deleted          boolean NOT NULL DEFAULT false,
        max_age_seconds  bigint,
        max_count        bigint,
        truncate_before  bigint,
        deleted_before   bigint
      );
      CREATE TABLE herald_events (
        tx_id            xid8 NOT NULL DEFAULT pg_current_xact_id(),
        global_position  bigint GENERATED ALWAYS AS IDENTITY,
        stream_id        text NOT NULL,
        stream_revision  bigint NOT NULL,
        event_id         uuid NOT NULL,
        type             text NOT NULL,
        schema_version   integer NOT NULL,
        data             json NOT NULL,
        metadata         json NOT NULL,
        recorded_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tx_id, global_position),
        UNIQUE (stream_id, stream_revision),
        UNIQUE (event_id)
      );
    `,
  },
  {
    // The visibility horizon does not wait for read-model transactions (see HORIZON in the
    // adapter): that is only sound while they never write the log, so the log refuses them.
    id: 'event-store-002-read-models-never-write',
    sql: `
      CREATE FUNCTION herald_refuse_read_model_writes() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF current_setting('application_name') = '${READ_MODEL_APPLICATION_NAME}' THEN
          RAISE EXCEPTION 'read-model connections never write the event log';
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER herald_events_read_models_never_write
        BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON herald_events
        FOR EACH STATEMENT EXECUTE FUNCTION herald_refuse_read_model_writes();
    `,
  },
  {
    // Tamper evidence (ADR 030): each event's hash chained to its stream's previous event,
    // the salts its personal values entered the hash with, and the seals over the global
    // log. `herald_integrity` says whether events written before this migration have been
    // given their hashes (PostgresEventStore.migrate does it once).
    id: 'event-store-003-hash-chain',
    sql: `
      ALTER TABLE herald_events ADD COLUMN hash bytea, ADD COLUMN personal json;
      CREATE TABLE herald_seals (
        seal_number       bigint PRIMARY KEY,
        after_checkpoint  text NOT NULL UNIQUE,
        last_checkpoint   text NOT NULL UNIQUE,
        event_count       integer NOT NULL,
        merkle_root       bytea NOT NULL,
        previous_hash     bytea,
        seal_hash         bytea NOT NULL,
        sealed_at         timestamptz NOT NULL DEFAULT now()
      );
      CREATE TRIGGER herald_seals_read_models_never_write
        BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON herald_seals
        FOR EACH STATEMENT EXECUTE FUNCTION herald_refuse_read_model_writes();
      CREATE TABLE herald_integrity (
        one         boolean PRIMARY KEY DEFAULT true CHECK (one),
        backfilled  boolean NOT NULL
      );
      INSERT INTO herald_integrity (backfilled) SELECT NOT EXISTS (SELECT 1 FROM herald_events);
    `,
  },
  {
    // The audit API's time ranges (GET /audit/log?since=&until=, herald export): one range
    // of this index, in recorded order, instead of a scan of the log. Keyed to the end by
    // the log's own order, so each page continues where the last ended.
    id: 'event-store-004-recorded-at-index',
    sql: `CREATE INDEX herald_events_by_recorded_at ON herald_events (recorded_at, tx_id, global_position);`,
  },
];
