/**
 * search.v1's table: every version of every message's text, with its span of seqs (from
 * the send or edit that wrote it, until the edit or deletion that ended it), its tokens
 * that are not CJK (`terms`, search.analysis.ts indexForms) and the tsvector of all its
 * tokens. A GIN index on the tsvector answers words, prefixes and phrases (CJK as bigram
 * phrases); a pg_trgm GIN index on `terms` answers substrings of Latin words. The extension is created here when the server has it (the
 * embedded server does), and its absence stops the migration saying so.
 */
import type { Migration } from '@herald/database';

export const SEARCH_MIGRATIONS: readonly Migration[] = [
  {
    id: 'search-001-pg-trgm',
    sql: `
      DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
          IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
            RAISE EXCEPTION 'search.v1 needs the PostgreSQL extension pg_trgm, which this server does not have'
              USING HINT = 'Install PostgreSQL''s contrib modules on the server of DATABASE_URL (e.g. the postgresql-contrib package), or have its administrator run CREATE EXTENSION pg_trgm in this database.';
          END IF;
          BEGIN
            CREATE EXTENSION pg_trgm;
          EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'search.v1 needs the PostgreSQL extension pg_trgm, and this user may not create it'
              USING HINT = 'Have the database''s owner or a superuser run CREATE EXTENSION pg_trgm in this database.';
          END;
        END IF;
      END $$;
    `,
  },
  {
    id: 'search-002-documents',
    sql: `
      CREATE TABLE rm_search_v1_documents (
        message_id       uuid NOT NULL,
        from_seq         bigint NOT NULL,
        until_seq        bigint,
        conversation_id  uuid NOT NULL,
        seq              bigint NOT NULL,
        sender_id        uuid NOT NULL,
        sent_at          timestamptz NOT NULL,
        has_attachment   boolean NOT NULL,
        text             text NOT NULL,
        terms            text NOT NULL,
        tsv              tsvector NOT NULL,
        PRIMARY KEY (message_id, from_seq)
      );
      CREATE INDEX rm_search_v1_documents_by_conversation ON rm_search_v1_documents (conversation_id, seq);
      -- fastupdate: new entries gather in a pending list merged in bulk (a catch-up from
      -- position 0 writes thousands a second).
      CREATE INDEX rm_search_v1_documents_tsv ON rm_search_v1_documents USING gin (tsv) WITH (fastupdate = on);
      CREATE INDEX rm_search_v1_documents_trgm ON rm_search_v1_documents USING gin (terms gin_trgm_ops) WITH (fastupdate = on);
    `,
  },
  {
    // A search ranks only the newest matches (search.postgres.ts, SEARCH_CANDIDATES): for a
    // common word, this index walked newest first stops once it has them, instead of every
    // match in the caller's spans being read from the heap.
    id: 'search-003-by-time',
    sql: `CREATE INDEX rm_search_v1_documents_by_time ON rm_search_v1_documents (sent_at, message_id);`,
  },
];
