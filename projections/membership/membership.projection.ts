/**
 * membership.v1: conversations and their members (role, when they joined and left, mute),
 * plus each conversation's activity (last seq, message count, last message preview) for
 * the conversation list. Every write is guarded by the event's seq, so applying an event
 * twice changes nothing; no clock, no random: a rebuild gives the same rows.
 */
import { EVENTS, streamPrefixOf, type EventIn } from '@herald/events';
import { eachEvent, type Place, type Sent } from '../each-event.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { LARGE_GROUP } from './membership.limits.js';

/** The conversations' events, and members' mutes (which live in each member's own stream). */
type MembershipEvent = EventIn<'conversation'> | Extract<EventIn<'receipts'>, { type: 'ConversationMuteChanged' }>;

const PREVIEW_CHARS = 140;

/** The start of a text, not cut inside a character (half an emoji would be stored as U+FFFD). */
const preview = (text: string): string => {
  const cut = text.slice(0, PREVIEW_CHARS);
  const last = cut.charCodeAt(cut.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
};

/** Its name: what decides who may read a conversation, so the API refuses reads when it is stale. */
export const MEMBERSHIP = 'membership.v1';

export function membershipProjection(): Projection {
  return {
    name: MEMBERSHIP,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation'), streamPrefixOf('receipts')],
      eventTypes: [
        ...EVENTS.filter((e) => e.category === 'conversation').map((e) => e.type),
        'ConversationMuteChanged',
      ],
    },
    apply: eachEvent<MembershipEvent>(applyOne, applySent),
  };
}

/**
 * Messages, one statement per run: each conversation counts the messages after its last
 * seq (none on a replay) and shows the newest as its last activity.
 */
async function applySent(m: EntityManager, sent: readonly Sent[]): Promise<void> {
  // The members' rows of a conversation that is not large carry its activity too (their
  // lists page down an index, ADR 036): at most LARGE_GROUP rows per conversation of the
  // run, whatever the number of its messages; a large one's send writes its one row.
  await m.query(
    `WITH r AS (SELECT DISTINCT ON (u.conversation_id) u.*, count(*) OVER (PARTITION BY u.conversation_id) AS n
                  FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::text[])
                         AS u(conversation_id, seq, sent_at, message_id, sender_id, preview)
                  JOIN rm_membership_v1_conversations known USING (conversation_id)
                 WHERE u.seq > known.last_seq
                 ORDER BY u.conversation_id, u.seq DESC),
          active AS (
            UPDATE rm_membership_v1_conversations c
               SET message_count = c.message_count + r.n, last_activity_at = r.sent_at, last_message_id = r.message_id,
                   last_sender_id = r.sender_id, last_preview = r.preview, last_seq = r.seq
              FROM r WHERE c.conversation_id = r.conversation_id
            RETURNING c.conversation_id, c.large, c.last_activity_at)
     UPDATE rm_membership_v1_members m SET activity_at = active.last_activity_at
       FROM active
      WHERE m.conversation_id = active.conversation_id AND NOT active.large AND m.left_seq IS NULL`,
    [
      sent.map((s) => s.data.conversationId),
      sent.map((s) => s.seq),
      sent.map((s) => s.occurredAt),
      sent.map((s) => s.data.messageId),
      sent.map((s) => s.data.senderId),
      sent.map((s) => preview(s.data.text)),
    ],
  );
}

const Counted = z.object({ member_count: z.string() });

/**
 * After a change of the member count: a group that crossed LARGE_GROUP either way has its
 * current members' rows rewritten once (the activity on them, or none), at most
 * LARGE_GROUP + 1 rows; otherwise one key lookup finds nothing to do.
 */
async function settle(m: EntityManager, conversationId: string): Promise<void> {
  await m.query(
    `WITH flipped AS (
       UPDATE rm_membership_v1_conversations SET large = member_count > ${LARGE_GROUP}
        WHERE conversation_id = $1 AND large <> (member_count > ${LARGE_GROUP})
       RETURNING large, last_activity_at)
     UPDATE rm_membership_v1_members m SET activity_at = CASE WHEN flipped.large THEN NULL ELSE flipped.last_activity_at END
       FROM flipped WHERE m.conversation_id = $1 AND m.left_seq IS NULL`,
    [conversationId],
  );
}

/** Whether a statement that returned the new member count moved it across LARGE_GROUP. */
async function counted(m: EntityManager, conversationId: string, rows: unknown, by: 1 | -1): Promise<void> {
  const [row] = z.array(Counted).parse(rows);
  if (!row) return;
  const count = Number(row.member_count);
  if ((by === 1 && count === LARGE_GROUP + 1) || (by === -1 && count === LARGE_GROUP)) await settle(m, conversationId);
}

async function applyOne(m: EntityManager, event: MembershipEvent, { seq, occurredAt: at }: Place): Promise<void> {
  // A member row written (a join, or a re-join after leaving), and the count of current
  // members with it: counted only when the row was not a current member's already and the
  // write happened (a replay writes nothing, so counts nothing). All in one statement, whose
  // parts see the rows as they were before it.
  const member = async (conversationId: string, userId: string, role: string): Promise<void> => {
    const rows: unknown = await m.query(
      `WITH prior AS (SELECT left_seq IS NULL AS current FROM rm_membership_v1_members WHERE conversation_id = $1 AND user_id = $2),
            conversation AS (SELECT CASE WHEN large THEN NULL ELSE last_activity_at END AS activity_at
                               FROM rm_membership_v1_conversations WHERE conversation_id = $1),
            written AS (
              INSERT INTO rm_membership_v1_members (conversation_id, user_id, role, joined_seq, updated_seq, activity_at)
              VALUES ($1, $2, $3, $4, $4, (SELECT activity_at FROM conversation))
              ON CONFLICT (conversation_id, user_id) DO UPDATE
                 SET role = $3, joined_seq = $4, left_seq = NULL, updated_seq = $4, activity_at = EXCLUDED.activity_at
               WHERE rm_membership_v1_members.updated_seq < $4
              RETURNING 1),
            counted AS (
              UPDATE rm_membership_v1_conversations SET member_count = member_count + 1
               WHERE conversation_id = $1 AND EXISTS (SELECT 1 FROM written)
                 AND NOT coalesce((SELECT current FROM prior), false)
              RETURNING member_count::text)
       SELECT member_count FROM counted`,
      [conversationId, userId, role, seq],
    );
    await counted(m, conversationId, rows, 1);
  };
  /** A current member gone (left or kicked): uncounted, and their row no longer in the activity index. */
  const gone = async (conversationId: string, userId: string): Promise<void> => {
    const rows: unknown = await m.query(
      `WITH prior AS (SELECT left_seq IS NULL AS current FROM rm_membership_v1_members WHERE conversation_id = $1 AND user_id = $2),
            written AS (
              UPDATE rm_membership_v1_members SET left_seq = $3, updated_seq = $3, activity_at = NULL
               WHERE conversation_id = $1 AND user_id = $2 AND updated_seq < $3
              RETURNING 1),
            counted AS (
              UPDATE rm_membership_v1_conversations SET member_count = member_count - 1
               WHERE conversation_id = $1 AND EXISTS (SELECT 1 FROM written)
                 AND coalesce((SELECT current FROM prior), false)
              RETURNING member_count::text)
       SELECT member_count FROM counted`,
      [conversationId, userId, seq],
    );
    await counted(m, conversationId, rows, -1);
  };
  const touch = (conversationId: string, set: string, params: unknown[]): Promise<unknown> =>
    m.query(
      `UPDATE rm_membership_v1_conversations SET ${set}, last_seq = $2 WHERE conversation_id = $1 AND last_seq < $2`,
      [conversationId, seq, ...params],
    );
  switch (event.type) {
    case 'DirectConversationStarted':
    case 'GroupCreated': {
      const group = event.type === 'GroupCreated';
      await m.query(
        `INSERT INTO rm_membership_v1_conversations (conversation_id, kind, name, description, created_at, last_seq, last_activity_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5) ON CONFLICT (conversation_id) DO NOTHING`,
        [
          event.data.conversationId,
          group ? 'group' : 'direct',
          group ? event.data.name : null,
          group ? (event.data.description ?? null) : null,
          at,
          seq,
        ],
      );
      if (group) {
        await member(event.data.conversationId, event.data.ownerId, 'owner');
        for (const id of event.data.memberIds) await member(event.data.conversationId, id, 'member');
      } else {
        for (const id of event.data.memberIds) await member(event.data.conversationId, id, 'member');
      }
      return;
    }
    case 'GroupRenamed':
      await touch(event.data.conversationId, 'name = $3', [event.data.name]);
      return;
    case 'GroupDetailsChanged': {
      const d = event.data;
      await touch(
        d.conversationId,
        `description = CASE WHEN $3 THEN $4 ELSE description END, announcement = CASE WHEN $5 THEN $6 ELSE announcement END`,
        [d.description !== undefined, d.description ?? null, d.announcement !== undefined, d.announcement ?? null],
      );
      return;
    }
    case 'MemberJoined':
      await member(event.data.conversationId, event.data.userId, 'member');
      return;
    case 'MemberLeft':
    case 'MemberKicked':
      await gone(event.data.conversationId, event.data.userId);
      return;
    case 'MemberRoleChanged':
      await m.query(
        `UPDATE rm_membership_v1_members SET role = $3, updated_seq = $4
          WHERE conversation_id = $1 AND user_id = $2 AND updated_seq < $4`,
        [event.data.conversationId, event.data.userId, event.data.role, seq],
      );
      return;
    case 'ConversationMuteChanged':
      // `seq` is the revision of the member's own stream here.
      await m.query(
        `UPDATE rm_membership_v1_members SET muted = $3, muted_until = $4, mute_revision = $5
          WHERE conversation_id = $1 AND user_id = $2 AND mute_revision < $5`,
        [event.data.conversationId, event.data.userId, event.data.muted, event.data.until ?? null, seq],
      );
      return;
    case 'GroupDissolved':
      await touch(event.data.conversationId, 'dissolved = true', []);
      return;
    case 'MessageSent':
      return applySent(m, [{ data: event.data, seq, occurredAt: at }]);
    // The preview shows the last message as it reads now: edited, or emptied once deleted.
    case 'MessageEdited':
      await touch(
        event.data.conversationId,
        'last_preview = CASE WHEN last_message_id = $3 THEN $4 ELSE last_preview END',
        [event.data.messageId, preview(event.data.text)],
      );
      return;
    case 'MessageDeleted':
      await touch(
        event.data.conversationId,
        "last_preview = CASE WHEN last_message_id = $3 THEN '' ELSE last_preview END",
        [event.data.messageId],
      );
      return;
    case 'MemberInvited':
    case 'InvitationWithdrawn':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return;
    // Moderation and pins are moderation.v1's (a ban's removal is the MemberKicked written after it).
    case 'MemberSilenced':
    case 'MemberUnsilenced':
    case 'MemberBanned':
    case 'MemberUnbanned':
    case 'GroupAnnouncementOnlyChanged':
    case 'MessagePinned':
    case 'MessageUnpinned':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
