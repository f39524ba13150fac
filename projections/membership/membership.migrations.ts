/**
 * membership.v1's tables: conversations and their members. Created under their first,
 * unversioned names and renamed to the versioned ones (membership-003), so that a data
 * directory from an older Herald keeps its rows and a fresh one ends the same way.
 */
import type { Migration } from '@herald/database';
import { LARGE_GROUP } from './membership.limits.js';

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
  {
    // Issue 17: what a 100,000-member group needs of this read model (ADR 036). In place, as
    // membership-002 was: the new columns are filled from the rows already there with exactly
    // what a replay from position 0 writes (`herald projections check membership.v1` compares
    // the two), so a data directory keeps its rows and no rebuild is needed.
    // - member_count: the current members (left_seq IS NULL), kept by the joins, leaves and
    //   kicks in the same transaction as the member rows, so `memberCount` is one key lookup.
    // - large: more than LARGE_GROUP current members now.
    // - activity_at: on a current member's row of a conversation that is not large, the
    //   conversation's last activity, so that a user's list pages down an index in its own
    //   order (write diffusion, at most LARGE_GROUP rows per conversation per batch of sends);
    //   null for the members of a large one, whose list reads its activity from the
    //   conversation row (read diffusion: a send writes one row whatever the group's size).
    id: 'membership-004-member-count-and-activity-index',
    sql: `
      ALTER TABLE rm_membership_v1_conversations
        ADD COLUMN member_count bigint NOT NULL DEFAULT 0,
        ADD COLUMN large boolean NOT NULL DEFAULT false;
      ALTER TABLE rm_membership_v1_members ADD COLUMN activity_at timestamptz;
      UPDATE rm_membership_v1_conversations c SET member_count = n.count
        FROM (SELECT conversation_id, count(*) AS count FROM rm_membership_v1_members
               WHERE left_seq IS NULL GROUP BY conversation_id) n
       WHERE c.conversation_id = n.conversation_id;
      UPDATE rm_membership_v1_conversations SET large = true WHERE member_count > ${LARGE_GROUP};
      UPDATE rm_membership_v1_members m SET activity_at = c.last_activity_at
        FROM rm_membership_v1_conversations c
       WHERE c.conversation_id = m.conversation_id AND NOT c.large AND m.left_seq IS NULL;
      CREATE INDEX rm_membership_v1_members_by_activity ON rm_membership_v1_members (user_id, activity_at DESC, conversation_id)
        WHERE left_seq IS NULL AND activity_at IS NOT NULL;
      CREATE INDEX rm_membership_v1_members_in_large ON rm_membership_v1_members (user_id)
        WHERE left_seq IS NULL AND activity_at IS NULL;
    `,
  },
];
