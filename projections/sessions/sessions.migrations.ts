/** sessions.v1's table: every sign-in session, with what the user's list of sessions shows. */
import type { Migration } from '@herald/database';

export const SESSIONS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'sessions-001-tables',
    sql: `
      CREATE TABLE rm_sessions_v1_sessions (
        session_id    uuid PRIMARY KEY,
        user_id       uuid NOT NULL,
        device_name   text,
        client        text,
        ip            text,
        created_at    timestamptz NOT NULL,
        last_seen_at  timestamptz NOT NULL,
        expires_at    timestamptz NOT NULL,
        revoked       boolean NOT NULL DEFAULT false,
        revision      bigint NOT NULL
      );
      CREATE INDEX rm_sessions_v1_sessions_by_user ON rm_sessions_v1_sessions (user_id, session_id) WHERE NOT revoked;
    `,
  },
];
