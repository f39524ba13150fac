/**
 * timeline.v1: the messages of each conversation by seq, with edits, deletions, reactions
 * and reply counts applied, and their history: each version a change ended (with the seq
 * of that change) and each reaction's span of seqs, so that a query can show the
 * conversation as it was at any seq (a departed member's view, ADR 008). Idempotent: rows
 * are keyed by seq and message id, a reply counts only when its row is new, and later
 * changes are guarded by the seq that made them.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import { z } from 'zod';
import { eachEvent, type Place, type Sent } from '../each-event.js';
import { select } from '../sql.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type ConversationEvent = EventIn<'conversation'>;

export const TIMELINE = 'timeline.v1';

export function timelineProjection(): Projection {
  return {
    name: TIMELINE,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation')],
      eventTypes: ['MessageSent', 'MessageEdited', 'MessageDeleted', 'ReactionAdded', 'ReactionRemoved'],
    },
    apply: eachEvent<ConversationEvent>(applyOne, applySent),
  };
}

/** Messages in one statement; a reply counts only when its row is new (so a replay counts nothing). */
async function applySent(m: EntityManager, sent: readonly Sent[]): Promise<void> {
  const column = <T>(pick: (s: Sent) => T): T[] => sent.map(pick);
  const inserted = await select(
    m,
    z.object({ reply_to: z.string().nullable(), seq: z.string() }),
    `INSERT INTO rm_timeline_v1_messages (conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, updated_seq)
     SELECT conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at, seq
       FROM unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::json[], $8::json[], $9::timestamptz[])
         AS u(conversation_id, seq, message_id, sender_id, text, reply_to, mentions, attachments, sent_at)
     ON CONFLICT DO NOTHING RETURNING reply_to, seq`,
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
  const replies = inserted.flatMap((row) => (row.reply_to ? [{ to: row.reply_to, seq: row.seq }] : []));
  if (replies.length === 0) return;
  // Each reply also records its thread's count as of its seq (the k-th reply of the run
  // to a message: the count before the run plus k), for reads as of a seq.
  await m.query(
    `WITH r AS (SELECT id, seq, row_number() OVER (PARTITION BY id ORDER BY seq)::int AS k
                  FROM unnest($1::uuid[], $2::bigint[]) AS u(id, seq)),
          counted AS (
            UPDATE rm_timeline_v1_messages p SET reply_count = p.reply_count + n.n
              FROM (SELECT id, count(*)::int AS n FROM r GROUP BY id) n
             WHERE p.message_id = n.id RETURNING p.message_id, p.reply_count - n.n AS before)
     INSERT INTO rm_timeline_v1_reply_counts (message_id, seq, reply_count)
     SELECT r.id, r.seq, counted.before + r.k FROM r JOIN counted ON counted.message_id = r.id
     ON CONFLICT DO NOTHING`,
    [replies.map((r) => r.to), replies.map((r) => r.seq)],
  );
}

/**
 * Keeps the version of message $1 that the change at seq $2 ends, when that change is new
 * to the row (a replay finds updated_seq at or past $2 and keeps nothing).
 */
const KEEP_VERSION = `
  INSERT INTO rm_timeline_v1_message_versions (message_id, until_seq, text, mentions, attachments, edited_at)
  SELECT message_id, $2, text, mentions, attachments, edited_at FROM rm_timeline_v1_messages
   WHERE message_id = $1 AND updated_seq < $2 AND NOT deleted
  ON CONFLICT DO NOTHING`;

async function applyOne(m: EntityManager, event: ConversationEvent, { seq, occurredAt: at }: Place): Promise<void> {
  switch (event.type) {
    case 'MessageSent':
      return applySent(m, [{ data: event.data, seq, occurredAt: at }]);
    case 'MessageEdited':
      // The version this edit ends is kept first (one statement: both see the row as it was).
      await m.query(
        `WITH kept AS (${KEEP_VERSION})
         UPDATE rm_timeline_v1_messages SET text = $3, mentions = $4, edited_at = $5, updated_seq = $2
          WHERE message_id = $1 AND updated_seq < $2 AND NOT deleted`,
        [event.data.messageId, seq, event.data.text, JSON.stringify(event.data.mentions), at],
      );
      return;
    case 'MessageDeleted':
      // The content is no longer shown to those who read the conversation now; the version
      // it ends is kept for those who left before (they read it as it was, ADR 008).
      // A deleted reply no longer counts in its thread; its reactions end here.
      await m.query(
        `WITH kept AS (${KEEP_VERSION}),
         gone AS (
           UPDATE rm_timeline_v1_messages SET deleted = true, text = '', mentions = '{"userIds":[],"all":false}', attachments = '[]', updated_seq = $2
            WHERE message_id = $1 AND updated_seq < $2 AND NOT deleted RETURNING reply_to),
         counted AS (
           UPDATE rm_timeline_v1_messages p SET reply_count = p.reply_count - 1 FROM gone
            WHERE p.message_id = gone.reply_to RETURNING p.message_id, p.reply_count)
         INSERT INTO rm_timeline_v1_reply_counts (message_id, seq, reply_count)
         SELECT message_id, $2, reply_count FROM counted ON CONFLICT DO NOTHING`,
        [event.data.messageId, seq],
      );
      await m.query(
        'UPDATE rm_timeline_v1_reactions SET removed_seq = $2 WHERE message_id = $1 AND removed_seq IS NULL AND added_seq < $2',
        [event.data.messageId, seq],
      );
      return;
    case 'ReactionAdded':
      // A new span, unless one stands (a repeat) or this seq or a later one already
      // touched this reaction (a replay).
      await m.query(
        `INSERT INTO rm_timeline_v1_reactions (message_id, emoji, user_id, added_seq)
         SELECT $1, $2, $3, $4 WHERE NOT EXISTS (
           SELECT 1 FROM rm_timeline_v1_reactions WHERE message_id = $1 AND emoji = $2 AND user_id = $3
              AND (removed_seq IS NULL OR removed_seq >= $4 OR added_seq >= $4))`,
        [event.data.messageId, event.data.emoji, event.data.userId, seq],
      );
      return;
    case 'ReactionRemoved':
      // Ends the standing span if it began before this seq (one begun later is a re-add).
      await m.query(
        `UPDATE rm_timeline_v1_reactions SET removed_seq = $4
          WHERE message_id = $1 AND emoji = $2 AND user_id = $3 AND removed_seq IS NULL AND added_seq < $4`,
        [event.data.messageId, event.data.emoji, event.data.userId, seq],
      );
      return;
    // Membership and moderation events are not the timeline's (its filter does not even read
    // them); pins are moderation.v1's, which shows them with the messages read from here.
    case 'DirectConversationStarted':
    case 'GroupCreated':
    case 'GroupRenamed':
    case 'GroupDetailsChanged':
    case 'MemberInvited':
    case 'InvitationWithdrawn':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'MemberJoined':
    case 'MemberLeft':
    case 'MemberKicked':
    case 'MemberRoleChanged':
    case 'GroupDissolved':
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
