/**
 * inbox.v1's tables: message counters and ordinals, read markers and mention rows. Created
 * under their first, unversioned names and renamed to the versioned ones (inbox-003), so
 * that a data directory from an older Herald keeps its rows and a fresh one ends the same way.
 */
import type { Migration } from '@herald/database';

export const INBOX_MIGRATIONS: readonly Migration[] = [
  {
    id: 'inbox-001-tables',
    sql: `
      CREATE TABLE rm_inbox_conversations (
        conversation_id  uuid PRIMARY KEY,
        message_count    bigint NOT NULL DEFAULT 0,
        last_seq         bigint NOT NULL
      );
      CREATE TABLE rm_inbox_messages (
        conversation_id  uuid NOT NULL,
        seq              bigint NOT NULL,
        ordinal          bigint NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      );
      CREATE TABLE rm_inbox_members (
        user_id          uuid NOT NULL,
        conversation_id  uuid NOT NULL,
        read_seq         bigint NOT NULL,
        read_count       bigint NOT NULL,
        delivered_seq    bigint NOT NULL DEFAULT -1,
        left_seq         bigint,
        PRIMARY KEY (user_id, conversation_id)
      );
      CREATE TABLE rm_inbox_mentions (
        conversation_id  uuid NOT NULL,
        user_id          uuid NOT NULL,
        seq              bigint NOT NULL,
        sender_id        uuid NOT NULL,
        PRIMARY KEY (conversation_id, user_id, seq)
      );
    `,
  },
  {
    // Edits and deletions reach the inbox: messages are found by id. Rows written before
    // have no id, so the inbox is rebuilt from the log (its checkpoint starts over).
    id: 'inbox-002-edits-and-deletions',
    sql: `
      TRUNCATE rm_inbox_conversations, rm_inbox_messages, rm_inbox_members, rm_inbox_mentions;
      DELETE FROM herald_projection_checkpoints WHERE name = 'inbox.v1';
      ALTER TABLE rm_inbox_messages
        ADD COLUMN message_id   uuid NOT NULL UNIQUE,
        ADD COLUMN sender_id    uuid NOT NULL,
        ADD COLUMN deleted      boolean NOT NULL DEFAULT false,
        ADD COLUMN mentions_seq bigint NOT NULL;
      CREATE INDEX rm_inbox_messages_deleted ON rm_inbox_messages (conversation_id, seq) WHERE deleted;
    `,
  },
  {
    // Version-suffixed names, so that an inbox.v2 can be built beside the serving v1.
    id: 'inbox-003-versioned-tables',
    sql: `
      ALTER TABLE rm_inbox_conversations RENAME TO rm_inbox_v1_conversations;
      ALTER TABLE rm_inbox_messages RENAME TO rm_inbox_v1_messages;
      ALTER TABLE rm_inbox_members RENAME TO rm_inbox_v1_members;
      ALTER TABLE rm_inbox_mentions RENAME TO rm_inbox_v1_mentions;
      ALTER INDEX rm_inbox_messages_deleted RENAME TO rm_inbox_v1_messages_deleted;
    `,
  },
];
