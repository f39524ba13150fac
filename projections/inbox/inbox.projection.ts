/**
 * inbox.v1: per user and conversation, how many messages are unread and how many
 * mention them, at a cost per message that does not grow with the group:
 * - a per-conversation message counter, and each message's ordinal (one row per message);
 * - a per-member read marker (seq and the ordinal it reached), moved by the member's own
 *   reads and sends; unread = the conversation's count - the member's read count;
 * - mention rows written only for the users a message names (one row for @all), replaced
 *   when an edit changes whom it names, removed when it is deleted;
 * - deleted messages stay counted and are marked: unread subtracts those after the read
 *   marker (a partial index finds them), so a delete writes one row whatever the group.
 * Idempotent: conversation writes are guarded by the seq, read markers only move forward.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import { z } from 'zod';
import { eachEvent, type Place, type Sent } from '../each-event.js';
import { select } from '../sql.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type InboxEvent = EventIn<'conversation'> | EventIn<'receipts'>;

/** The mention row of an @all message. */
export const EVERYONE = '00000000-0000-0000-0000-000000000000';

export const INBOX = 'inbox.v1';

export function inboxProjection(): Projection {
  return {
    name: INBOX,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation'), streamPrefixOf('receipts')],
      eventTypes: [
        'DirectConversationStarted',
        'GroupCreated',
        'MemberJoined',
        'MemberLeft',
        'MemberKicked',
        'MessageSent',
        'MessageEdited',
        'MessageDeleted',
        'ConversationRead',
        'MessagesDelivered',
      ],
    },
    apply: eachEvent<InboxEvent>(applyOne, applySent),
  };
}

/**
 * Messages, in one statement per run whatever the group's size: each new message (a seq
 * past its conversation's last) gets the next ordinal of its conversation, and the sender
 * has read up to their own message. Mentions write a row only for the users named (one for
 * @all). A replay finds no new message and changes nothing.
 */
async function applySent(m: EntityManager, sent: readonly Sent[]): Promise<void> {
  // Seqs are bigint: as text, never cast to a 32-bit int that a long conversation would overflow.
  const fresh = await select(
    m,
    z.object({ conversation_id: z.string(), seq: z.string() }),
    `WITH fresh AS (
       SELECT u.conversation_id, u.seq, u.sender_id, u.message_id,
              c.message_count + row_number() OVER (PARTITION BY u.conversation_id ORDER BY u.seq) AS ordinal
         FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[]) AS u(conversation_id, seq, sender_id, message_id)
         JOIN rm_inbox_v1_conversations c USING (conversation_id)
        WHERE u.seq > c.last_seq
     ), counted AS (
       UPDATE rm_inbox_v1_conversations c SET message_count = f.ordinal, last_seq = f.seq
         FROM (SELECT DISTINCT ON (conversation_id) * FROM fresh ORDER BY conversation_id, seq DESC) f
        WHERE c.conversation_id = f.conversation_id
     ), ordinals AS (
       INSERT INTO rm_inbox_v1_messages (conversation_id, seq, ordinal, message_id, sender_id, mentions_seq)
       SELECT conversation_id, seq, ordinal, message_id, sender_id, seq FROM fresh ON CONFLICT DO NOTHING
     ), own AS (
       -- Your own message is read by you.
       UPDATE rm_inbox_v1_members m SET read_seq = s.seq, read_count = s.ordinal
         FROM (SELECT DISTINCT ON (conversation_id, sender_id) * FROM fresh ORDER BY conversation_id, sender_id, seq DESC) s
        WHERE m.user_id = s.sender_id AND m.conversation_id = s.conversation_id AND m.read_seq < s.seq
     )
     SELECT conversation_id, seq::text AS seq FROM fresh`,
    [
      sent.map((s) => s.data.conversationId),
      sent.map((s) => s.seq),
      sent.map((s) => s.data.senderId),
      sent.map((s) => s.data.messageId),
    ],
  );
  // Only new messages: a message applied again would bring back mentions its deletion removed.
  const isNew = new Set(fresh.map((row) => `${row.conversation_id}/${row.seq}`));
  await insertMentions(
    m,
    sent
      .filter(({ data, seq }) => isNew.has(`${data.conversationId}/${seq}`))
      .flatMap(({ data: d, seq }) =>
        mentioned(d.mentions, d.senderId).map((userId) => ({
          conversationId: d.conversationId,
          userId,
          seq,
          senderId: d.senderId,
        })),
      ),
  );
}

/** Whom a message's mentions write a row for: the users named but the sender, and @all's row. */
function mentioned(mentions: Sent['data']['mentions'], senderId: string): string[] {
  return [...(mentions.all ? [EVERYONE] : []), ...mentions.userIds.filter((u) => u !== senderId)];
}

async function insertMentions(
  m: EntityManager,
  mentions: readonly { conversationId: string; userId: string; seq: number; senderId: string }[],
): Promise<void> {
  if (mentions.length === 0) return;
  await m.query(
    `INSERT INTO rm_inbox_v1_mentions (conversation_id, user_id, seq, sender_id)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[]) ON CONFLICT DO NOTHING`,
    [
      mentions.map((x) => x.conversationId),
      mentions.map((x) => x.userId),
      mentions.map((x) => x.seq),
      mentions.map((x) => x.senderId),
    ],
  );
}

async function applyOne(m: EntityManager, event: InboxEvent, { seq, occurredAt }: Place): Promise<void> {
  const join = (conversationId: string, userId: string): Promise<unknown> =>
    // Whatever was said before joining counts as read.
    m.query(
      `INSERT INTO rm_inbox_v1_members (user_id, conversation_id, read_seq, read_count)
       SELECT $2, $1, $3, c.message_count FROM rm_inbox_v1_conversations c WHERE c.conversation_id = $1
       ON CONFLICT (user_id, conversation_id) DO UPDATE
         SET read_seq = excluded.read_seq, read_count = excluded.read_count, left_seq = NULL
         WHERE rm_inbox_v1_members.read_seq < excluded.read_seq`,
      [conversationId, userId, seq],
    );
  switch (event.type) {
    case 'DirectConversationStarted':
    case 'GroupCreated': {
      const d = event.data;
      await m.query(
        'INSERT INTO rm_inbox_v1_conversations (conversation_id, last_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [d.conversationId, seq],
      );
      const members =
        event.type === 'GroupCreated' ? [event.data.ownerId, ...event.data.memberIds] : event.data.memberIds;
      for (const userId of members) await join(d.conversationId, userId);
      return;
    }
    case 'MemberJoined':
      await join(event.data.conversationId, event.data.userId);
      return;
    case 'MemberLeft':
    case 'MemberKicked':
      await m.query(
        'UPDATE rm_inbox_v1_members SET left_seq = $3 WHERE user_id = $2 AND conversation_id = $1 AND (left_seq IS NULL OR left_seq < $3)',
        [event.data.conversationId, event.data.userId, seq],
      );
      return;
    case 'MessageSent':
      return applySent(m, [{ data: event.data, seq, occurredAt }]);
    case 'ConversationRead':
      await m.query(
        `UPDATE rm_inbox_v1_members SET read_seq = $3,
                read_count = coalesce((SELECT max(ordinal) FROM rm_inbox_v1_messages
                                        WHERE conversation_id = $2 AND seq <= $3), 0)
          WHERE user_id = $1 AND conversation_id = $2 AND read_seq < $3`,
        [event.data.userId, event.data.conversationId, event.data.upToSeq],
      );
      return;
    case 'MessageEdited': {
      // Whom the message names now; an older edit applied again changes nothing.
      const d = event.data;
      // A SELECT over the UPDATE: TypeORM answers a bare UPDATE with [rows, affected].
      const [message] = await select(
        m,
        z.object({ seq: z.string(), sender_id: z.string() }),
        `WITH changed AS (
           UPDATE rm_inbox_v1_messages SET mentions_seq = $2
            WHERE message_id = $1 AND mentions_seq < $2 AND NOT deleted RETURNING seq, sender_id)
         SELECT seq::text AS seq, sender_id FROM changed`,
        [d.messageId, seq],
      );
      if (!message) return;
      const messageSeq = Number(message.seq);
      await m.query('DELETE FROM rm_inbox_v1_mentions WHERE conversation_id = $1 AND seq = $2', [
        d.conversationId,
        messageSeq,
      ]);
      await insertMentions(
        m,
        mentioned(d.mentions, message.sender_id).map((userId) => ({
          conversationId: d.conversationId,
          userId,
          seq: messageSeq,
          senderId: message.sender_id,
        })),
      );
      return;
    }
    case 'MessageDeleted':
      // Still counted (ordinals stay), marked so that unread counts leave it out.
      await m.query(
        `WITH gone AS (UPDATE rm_inbox_v1_messages SET deleted = true WHERE message_id = $1 RETURNING conversation_id, seq)
         DELETE FROM rm_inbox_v1_mentions x USING gone WHERE x.conversation_id = gone.conversation_id AND x.seq = gone.seq`,
        [event.data.messageId],
      );
      return;
    case 'MessagesDelivered':
      await m.query(
        'UPDATE rm_inbox_v1_members SET delivered_seq = $3 WHERE user_id = $1 AND conversation_id = $2 AND delivered_seq < $3',
        [event.data.userId, event.data.conversationId, event.data.upToSeq],
      );
      return;
    // Not the inbox's (its filter does not even read them).
    case 'GroupRenamed':
    case 'GroupDetailsChanged':
    case 'MemberInvited':
    case 'InvitationWithdrawn':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'MemberRoleChanged':
    case 'ConversationMuteChanged':
    case 'GroupDissolved':
    case 'ReactionAdded':
    case 'ReactionRemoved':
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
