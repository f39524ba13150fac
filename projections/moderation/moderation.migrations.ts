/**
 * moderation.v1's tables: a group's announcement-only setting, its members' silences, its
 * bans, and every pin of a conversation as a span of seqs (so that the pins can be read as
 * of a seq, for a member who left: ADR 008). A row of a setting, silence or ban keeps the
 * seq that last changed it: a lifted silence or ban stays a row (NULL until, `banned`
 * false), so that an older event delivered again never brings it back.
 */
import type { Migration } from '@herald/database';

export const MODERATION_MIGRATIONS: readonly Migration[] = [
  {
    id: 'moderation-001-tables',
    sql: `
      CREATE TABLE rm_moderation_v1_groups (
        conversation_id    uuid PRIMARY KEY,
        announcement_only  boolean NOT NULL,
        updated_seq        bigint NOT NULL
      );
      CREATE TABLE rm_moderation_v1_silences (
        conversation_id  uuid NOT NULL,
        user_id          uuid NOT NULL,
        -- NULL once lifted; one that has passed is read as none (the reader compares).
        silenced_until   timestamptz,
        silenced_by      uuid NOT NULL,
        updated_seq      bigint NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
      );
      CREATE TABLE rm_moderation_v1_bans (
        conversation_id  uuid NOT NULL,
        user_id          uuid NOT NULL,
        banned           boolean NOT NULL,
        banned_by        uuid NOT NULL,
        banned_at        timestamptz NOT NULL,
        updated_seq      bigint NOT NULL,
        PRIMARY KEY (conversation_id, user_id)
      );
      CREATE INDEX rm_moderation_v1_bans_standing ON rm_moderation_v1_bans (conversation_id, user_id) WHERE banned;
      -- A pin from the seq that pinned its message up to the seq that unpinned or deleted
      -- it (NULL while it stands).
      CREATE TABLE rm_moderation_v1_pins (
        conversation_id  uuid NOT NULL,
        pinned_seq       bigint NOT NULL,
        message_id       uuid NOT NULL,
        pinned_by        uuid NOT NULL,
        pinned_at        timestamptz NOT NULL,
        unpinned_seq     bigint,
        PRIMARY KEY (conversation_id, pinned_seq)
      );
      CREATE INDEX rm_moderation_v1_pins_standing ON rm_moderation_v1_pins (message_id) WHERE unpinned_seq IS NULL;
    `,
  },
];
