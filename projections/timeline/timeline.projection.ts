/**
 * timeline.v1: the messages of each conversation by seq, with edits, deletions, reactions
 * and reply counts applied. Idempotent: rows are keyed by seq and message id, a reply
 * counts only when its row is new, and later changes are guarded by the seq that made them.
 */
import type { EventIn } from '@herald/events';
import { eachEvent, type Place, type Sent } from '../each-event.js';
import type { Migration } from '@herald/database';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type ConversationEvent = EventIn<'conversation'>;

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
];

export function timelineProjection(): Projection {
  return {
    name: 'timeline.v1',
    filter: {
      streamPrefixes: ['conversation-'],
      eventTypes: ['MessageSent', 'MessageEdited', 'MessageDeleted', 'ReactionAdded', 'ReactionRemoved'],
    },
    apply: eachEvent<ConversationEvent>(applyOne, applySent),
  };
}

/** Messages in one statement; a reply counts only when its row is new (so a replay counts nothing). */
async function applySent(m: EntityManager, sent: readonly Sent[]): Promise<void> {
  const column = <T>(pick: (s: Sent) => T): T[] => sent.map(pick);
  const inserted = await m.query<{ reply_to: string | null }[]>(
    `INSERT INTO rm_messages (conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, updated_seq)
     SELECT conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, seq
       FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::json[], $8::json[], $9::timestamptz[])
         AS u(conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at)
     ON CONFLICT DO NOTHING RETURNING reply_to`,
    [
      column((s) => s.data.conversationId),
      column((s) => s.seq),
      column((s) => s.data.messageId),
      column((s) => s.data.senderId),
      column((s) => s.data.text),
      column((s) => s.data.replyToMessageId ?? null),
      column((s) => JSON.stringify(s.data.mentions)),
      column((s) => JSON.stringify(s.data.attachments)),
      column((s) => s.occurredAt),
    ],
  );
  const replies = inserted.flatMap((row) => (row.reply_to ? [row.reply_to] : []));
  if (replies.length === 0) return;
  await m.query(
    `UPDATE rm_messages SET reply_count = reply_count + r.n
       FROM (SELECT id, count(*)::int AS n FROM unnest($1::uuid[]) AS id GROUP BY id) r
      WHERE message_id = r.id`,
    [replies],
  );
}

async function applyOne(m: EntityManager, event: ConversationEvent, { seq, occurredAt: at }: Place): Promise<void> {
  switch (event.type) {
    case 'MessageSent':
      return applySent(m, [{ data: event.data, seq, occurredAt: at }]);
    case 'MessageEdited':
      await m.query(
        `UPDATE rm_messages SET text = $2, mentions = $3, edited_at = $4, updated_seq = $5
          WHERE message_id = $1 AND updated_seq < $5 AND NOT deleted`,
        [event.data.messageId, event.data.text, JSON.stringify(event.data.mentions), at, seq],
      );
      return;
    case 'MessageDeleted':
      // The content is no longer shown anywhere it is read from.
      // A deleted reply no longer counts in its thread.
      await m.query(
        `WITH gone AS (
           UPDATE rm_messages SET deleted = true, text = '', mentions = '{"userIds":[],"all":false}', attachments = '[]', updated_seq = $2
            WHERE message_id = $1 AND updated_seq < $2 AND NOT deleted RETURNING reply_to)
         UPDATE rm_messages p SET reply_count = p.reply_count - 1 FROM gone WHERE p.message_id = gone.reply_to`,
        [event.data.messageId, seq],
      );
      await m.query('DELETE FROM rm_reactions WHERE message_id = $1', [event.data.messageId]);
      return;
    case 'ReactionAdded':
      await m.query(
        'INSERT INTO rm_reactions (message_id, emoji, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [event.data.messageId, event.data.emoji, event.data.userId],
      );
      return;
    case 'ReactionRemoved':
      await m.query('DELETE FROM rm_reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3', [
        event.data.messageId,
        event.data.emoji,
        event.data.userId,
      ]);
      return;
    // Membership events are not the timeline's (its filter does not even read them).
    case 'DirectConversationStarted':
    case 'GroupCreated':
    case 'GroupRenamed':
    case 'GroupDetailsChanged':
    case 'MemberInvited':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'MemberJoined':
    case 'MemberLeft':
    case 'MemberKicked':
    case 'MemberRoleChanged':
    case 'GroupDissolved':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
