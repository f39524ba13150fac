/**
 * timeline.v1's tables: messages, their versions, reply counts and reaction spans. Created
 * under their first, unversioned names and renamed to the versioned ones (timeline-003),
 * so that a data directory from an older Herald keeps its rows and a fresh one ends the
 * same way.
 */
import type { Migration } from '@herald/database';

export const TIMELINE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'timeline-001-tables',
    sql: `
      CREATE TABLE rm_messages (
        conversation_id  uuid NOT NULL,
        seq              bigint NOT NULL,
        message_id       uuid NOT NULL UNIQUE,
        sender_id        uuid NOT NULL,
        text             text NOT NULL,
        reply_to         uuid,
        reply_count      integer NOT NULL DEFAULT 0,
        mentions         json NOT NULL,
        attachments      json NOT NULL,
        sent_at          timestamptz NOT NULL,
        edited_at        timestamptz,
        deleted          boolean NOT NULL DEFAULT false,
        updated_seq      bigint NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      );
      CREATE TABLE rm_reactions (
        message_id  uuid NOT NULL,
        emoji       text NOT NULL,
        user_id     uuid NOT NULL,
        PRIMARY KEY (message_id, emoji, user_id)
      );
    `,
  },
  {
    // Versions and reaction spans (ADR 008). The history of what is already applied is
    // not in the rows, so the timeline is rebuilt from the log (its checkpoint starts over).
    id: 'timeline-002-versions',
    sql: `
      TRUNCATE rm_messages;
      DELETE FROM herald_projection_checkpoints WHERE name = 'timeline.v1';
      DROP TABLE rm_reactions;
      -- A reaction from the seq that added it up to the seq that removed it (or deleted
      -- its message); NULL while it stands.
      CREATE TABLE rm_reactions (
        message_id   uuid NOT NULL,
        emoji        text NOT NULL,
        user_id      uuid NOT NULL,
        added_seq    bigint NOT NULL,
        removed_seq  bigint,
        PRIMARY KEY (message_id, emoji, user_id, added_seq)
      );
      -- A message as it read before the edit or deletion at until_seq (never deleted
      -- itself: a deletion is the last change a message has).
      CREATE TABLE rm_message_versions (
        message_id   uuid NOT NULL,
        until_seq    bigint NOT NULL,
        text         text NOT NULL,
        mentions     json NOT NULL,
        attachments  json NOT NULL,
        edited_at    timestamptz,
        PRIMARY KEY (message_id, until_seq)
      );
      -- A message's reply count from the seq of the reply sent or deleted that set it.
      CREATE TABLE rm_reply_counts (
        message_id   uuid NOT NULL,
        seq          bigint NOT NULL,
        reply_count  integer NOT NULL,
        PRIMARY KEY (message_id, seq)
      );
    `,
  },
  {
    // Version-suffixed names, so that a timeline.v2 can be built beside the serving v1.
    id: 'timeline-003-versioned-tables',
    sql: `
      ALTER TABLE rm_messages RENAME TO rm_timeline_v1_messages;
      ALTER TABLE rm_reactions RENAME TO rm_timeline_v1_reactions;
      ALTER TABLE rm_message_versions RENAME TO rm_timeline_v1_message_versions;
      ALTER TABLE rm_reply_counts RENAME TO rm_timeline_v1_reply_counts;
    `,
  },
  {
    // Threads (GET .../messages/:messageId/replies): a thread's replies by seq, read through
    // the index rather than the conversation. Rows are unchanged, so the version stays (ADR 018).
    id: 'timeline-004-replies-index',
    sql: `CREATE INDEX rm_timeline_v1_messages_replies ON rm_timeline_v1_messages (conversation_id, reply_to, seq)
            WHERE reply_to IS NOT NULL;`,
  },
];
