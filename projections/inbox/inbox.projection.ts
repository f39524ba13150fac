/**
 * inbox.v1: per user and conversation, how many messages are unread and how many
 * mention them, at a cost per message that does not grow with the group:
 * - a per-conversation message counter, and each message's ordinal (one row per message);
 * - a per-member read marker (seq and the ordinal it reached), moved by the member's own
 *   reads and sends; unread = the conversation's count - the member's read count;
 * - mention rows written only for the users a message names (one row for @all).
 * Idempotent: conversation writes are guarded by the seq, read markers only move forward.
 */
import type { EventIn } from '@herald/events';
import { eachEvent, type Place } from '../each-event.js';
import type { Migration } from '@herald/database';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type InboxEvent = EventIn<'conversation'> | EventIn<'receipts'>;

/** The mention row of an @all message. */
export const EVERYONE = '00000000-0000-0000-0000-000000000000';

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
];

export function inboxProjection(): Projection {
  return {
    name: 'inbox.v1',
    filter: {
      streamPrefixes: ['conversation-', 'receipts-'],
      eventTypes: [
        'DirectConversationStarted',
        'GroupCreated',
        'MemberJoined',
        'MemberLeft',
        'MemberKicked',
        'MessageSent',
        'ConversationRead',
        'MessagesDelivered',
      ],
    },
    apply: eachEvent<InboxEvent>(applyOne),
  };
}

async function applyOne(m: EntityManager, event: InboxEvent, { seq }: Place): Promise<void> {
  const join = (conversationId: string, userId: string): Promise<unknown> =>
    // Whatever was said before joining counts as read.
    m.query(
      `INSERT INTO rm_inbox_members (user_id, conversation_id, read_seq, read_count)
       SELECT $2, $1, $3, c.message_count FROM rm_inbox_conversations c WHERE c.conversation_id = $1
       ON CONFLICT (user_id, conversation_id) DO UPDATE
         SET read_seq = excluded.read_seq, read_count = excluded.read_count, left_seq = NULL
         WHERE rm_inbox_members.read_seq < excluded.read_seq`,
      [conversationId, userId, seq],
    );
  switch (event.type) {
    case 'DirectConversationStarted':
    case 'GroupCreated': {
      const d = event.data;
      await m.query(
        'INSERT INTO rm_inbox_conversations (conversation_id, last_seq) VALUES ($1, $2) ON CONFLICT DO NOTHING',
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
        'UPDATE rm_inbox_members SET left_seq = $3 WHERE user_id = $2 AND conversation_id = $1 AND (left_seq IS NULL OR left_seq < $3)',
        [event.data.conversationId, event.data.userId, seq],
      );
      return;
    case 'MessageSent': {
      const d = event.data;
      // TypeORM answers an UPDATE with [rows, affected].
      const [counted] = await m.query<[{ message_count: string }[], number]>(
        `UPDATE rm_inbox_conversations SET message_count = message_count + 1, last_seq = $2
          WHERE conversation_id = $1 AND last_seq < $2 RETURNING message_count`,
        [d.conversationId, seq],
      );
      const row = counted[0];
      if (!row) return; // applied before
      await m.query(
        'INSERT INTO rm_inbox_messages (conversation_id, seq, ordinal) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [d.conversationId, seq, row.message_count],
      );
      // Your own message is read by you.
      await m.query(
        `UPDATE rm_inbox_members SET read_seq = $3, read_count = $4
          WHERE user_id = $2 AND conversation_id = $1 AND read_seq < $3`,
        [d.conversationId, d.senderId, seq, row.message_count],
      );
      const mentioned = [...(d.mentions.all ? [EVERYONE] : []), ...d.mentions.userIds.filter((u) => u !== d.senderId)];
      for (const userId of mentioned) {
        await m.query(
          'INSERT INTO rm_inbox_mentions (conversation_id, user_id, seq, sender_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [d.conversationId, userId, seq, d.senderId],
        );
      }
      return;
    }
    case 'ConversationRead':
      await m.query(
        `UPDATE rm_inbox_members SET read_seq = $3,
                read_count = coalesce((SELECT max(ordinal) FROM rm_inbox_messages
                                        WHERE conversation_id = $2 AND seq <= $3), 0)
          WHERE user_id = $1 AND conversation_id = $2 AND read_seq < $3`,
        [event.data.userId, event.data.conversationId, event.data.upToSeq],
      );
      return;
    case 'MessagesDelivered':
      await m.query(
        'UPDATE rm_inbox_members SET delivered_seq = $3 WHERE user_id = $1 AND conversation_id = $2 AND delivered_seq < $3',
        [event.data.userId, event.data.conversationId, event.data.upToSeq],
      );
      return;
    // Not the inbox's (its filter does not even read them).
    case 'GroupRenamed':
    case 'GroupDetailsChanged':
    case 'MemberInvited':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'MemberRoleChanged':
    case 'ConversationMuteChanged':
    case 'GroupDissolved':
    case 'MessageEdited':
    case 'MessageDeleted':
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
