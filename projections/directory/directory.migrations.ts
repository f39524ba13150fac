/**
 * directory.v1's tables: users, contacts and blocks. Created under their first, unversioned
 * names and renamed to the versioned ones (directory-002), so that a data directory from
 * an older Herald keeps its rows and a fresh one ends the same way.
 */
import type { Migration } from '@herald/database';

export const DIRECTORY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'directory-001-tables',
    sql: `
      CREATE TABLE rm_users (
        user_id       uuid PRIMARY KEY,
        username      text NOT NULL UNIQUE,
        display_name  text NOT NULL,
        avatar_url    text,
        status_text   text,
        revision      bigint NOT NULL
      );
      CREATE TABLE rm_contacts (
        user_id     uuid NOT NULL,
        contact_id  uuid NOT NULL,
        status      text NOT NULL CHECK (status IN ('contacts', 'request_sent', 'request_received')),
        revision    bigint NOT NULL,
        PRIMARY KEY (user_id, contact_id)
      );
      CREATE TABLE rm_blocks (
        user_id          uuid NOT NULL,
        blocked_user_id  uuid NOT NULL,
        PRIMARY KEY (user_id, blocked_user_id)
      );
    `,
  },
  {
    // Version-suffixed names, so that a directory.v2 can be built beside the serving v1.
    id: 'directory-002-versioned-tables',
    sql: `
      ALTER TABLE rm_users RENAME TO rm_directory_v1_users;
      ALTER TABLE rm_contacts RENAME TO rm_directory_v1_contacts;
      ALTER TABLE rm_blocks RENAME TO rm_directory_v1_blocks;
    `,
  },
];
