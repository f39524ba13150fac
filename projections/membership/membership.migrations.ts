/**
 * membership.v1's tables: conversations and their members. Created under their first,
 * unversioned names and renamed to the versioned ones (membership-003), so that a data
 * directory from an older Herald keeps its rows and a fresh one ends the same way.
 */
import type { Migration } from '@herald/database';

export const MEMBERSHIP_MIGRATIONS: readonly Migration[] = [
  {
    id: 'membership-001-tables',
    sql: `
      CREATE TABLE rm_conversations (
        conversation_id    uuid PRIMARY KEY,
        kind               text NOT NULL CHECK (kind IN ('direct', 'group')),
        name               text,
        description        text,
        announcement       text,
        dissolved          boolean NOT NULL DEFAULT false,
        created_at         timestamptz NOT NULL,
        last_seq           bigint NOT NULL,
        message_count      bigint NOT NULL DEFAULT 0,
        last_activity_at   timestamptz NOT NULL,
        last_message_id    uuid,
        last_sender_id     uuid,
        last_preview       text
      );
      CREATE TABLE rm_members (
        conversation_id  uuid NOT NULL,
        user_id          uuid NOT NULL,
        role             text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
        joined_seq       bigint NOT NULL,
        left_seq         bigint,
        muted            boolean NOT NULL DEFAULT false,
        muted_until      timestamptz,
        updated_seq      bigint NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
      );
      CREATE INDEX rm_members_by_user ON rm_members (user_id, conversation_id);
    `,
  },
  {
    // Mutes come from each member's own stream: its revision guards them, not the conversation's seq.
    id: 'membership-002-mute-revision',
    sql: `ALTER TABLE rm_members ADD COLUMN mute_revision bigint NOT NULL DEFAULT -1;`,
  },
  {
    // Version-suffixed names, so that a membership.v2 can be built beside the serving v1.
    id: 'membership-003-versioned-tables',
    sql: `
      ALTER TABLE rm_conversations RENAME TO rm_membership_v1_conversations;
      ALTER TABLE rm_members RENAME TO rm_membership_v1_members;
      ALTER INDEX rm_members_by_user RENAME TO rm_membership_v1_members_by_user;
    `,
  },
];
