/**
 * timeline.v1's reads: a page of a conversation's messages by seq, as they are now or as
 * they were at a seq (ADR 008), and what a conversation list shows of its last message.
 * The only code, with `timeline.projection.ts` that writes them, that names its tables.
 */
import { z } from 'zod';
import { select, type Sql } from '../sql.js';

export interface TimelineMessage {
  readonly seq: number;
  readonly messageId: string;
  readonly senderId: string;
  readonly text: string;
  readonly replyToMessageId: string | null;
  readonly replyCount: number;
  readonly mentions: { userIds: string[]; all: boolean };
  readonly attachments: unknown[];
  /** Emoji to the users who reacted with it, by user id. */
  readonly reactions: Record<string, string[]>;
  readonly sentAt: string;
  readonly editedAt: string | null;
  readonly deleted: boolean;
}

export interface TimelinePageQuery {
  /** Older than this seq, newest first (the default when `after` is not given). */
  readonly before?: number;
  /** Newer than this seq, oldest first. */
  readonly after?: number;
  readonly limit: number;
  /**
   * The conversation as it was once the event at this seq was applied: no message after
   * it, and each message's text, deletion, reactions and reply count as they stood then.
   */
  readonly asOf?: number;
  /** Only these messages (a conversation's pins, moderation.v1). */
  readonly messageIds?: readonly string[];
  /** Only the replies to this message (a thread), by seq as any page. */
  readonly replyTo?: string;
}

/** A row as the statement below selects it (pg gives json as parsed values, timestamptz as Date). */
const Row = z.object({
  seq: z.number(),
  message_id: z.string(),
  sender_id: z.string(),
  text: z.string(),
  reply_to: z.string().nullable(),
  reply_count: z.number(),
  mentions: z.object({ userIds: z.array(z.string()), all: z.boolean() }),
  attachments: z.array(z.unknown()),
  reactions: z.record(z.string(), z.array(z.string())),
  sent_at: z.date(),
  edited_at: z.date().nullable(),
  deleted: z.boolean(),
});

/**
 * A page of messages by seq with the cursor of the next page (null on the last). Keyset
 * by seq, and as of a seq each message costs index lookups of its own (its next version,
 * its reply count, its reaction spans): a page costs what it shows, never the
 * conversation's length or a thread's.
 */
export async function timelinePage(
  db: Sql,
  conversationId: string,
  page: TimelinePageQuery,
): Promise<{ messages: TimelineMessage[]; nextCursor: number | null }> {
  const older = page.after === undefined;
  const asOf = page.asOf !== undefined;
  // $2: the last seq shown. As of it, a message changed later reads as the version the
  // first later change ended (v); one not changed since reads as it is.
  const rows = await select(
    db,
    Row,
    `SELECT m.seq::int AS seq, m.message_id, m.sender_id, m.reply_to, m.sent_at,
            ${
              asOf
                ? `CASE WHEN v.message_id IS NULL THEN m.text ELSE v.text END AS text,
                   CASE WHEN v.message_id IS NULL THEN m.mentions ELSE v.mentions END AS mentions,
                   CASE WHEN v.message_id IS NULL THEN m.attachments ELSE v.attachments END AS attachments,
                   CASE WHEN v.message_id IS NULL THEN m.edited_at ELSE v.edited_at END AS edited_at,
                   m.deleted AND v.message_id IS NULL AS deleted,
                   coalesce((SELECT c.reply_count FROM rm_timeline_v1_reply_counts c
                     WHERE c.message_id = m.message_id AND c.seq <= $2
                     ORDER BY c.seq DESC LIMIT 1), 0) AS reply_count,`
                : 'm.text, m.mentions, m.attachments, m.edited_at, m.deleted, m.reply_count,'
            }
            coalesce((SELECT json_object_agg(emoji, users) FROM
               (SELECT emoji, json_agg(user_id ORDER BY user_id) AS users FROM rm_timeline_v1_reactions r
                 WHERE r.message_id = m.message_id
                   AND ${asOf ? 'r.added_seq <= $2 AND (r.removed_seq IS NULL OR r.removed_seq > $2)' : 'r.removed_seq IS NULL'}
                 GROUP BY emoji) x), '{}') AS reactions
       FROM rm_timeline_v1_messages m
       ${
         asOf
           ? `LEFT JOIN LATERAL (SELECT * FROM rm_timeline_v1_message_versions mv
                WHERE mv.message_id = m.message_id AND mv.until_seq > $2
                ORDER BY mv.until_seq LIMIT 1) v ON true`
           : ''
       }
      WHERE m.conversation_id = $1 AND m.seq <= $2
        AND ${older ? 'm.seq < $3' : 'm.seq > $3'}${page.messageIds ? ' AND m.message_id = ANY($5::uuid[])' : ''}
        ${page.replyTo !== undefined ? `AND m.reply_to = $${page.messageIds ? 6 : 5}` : ''}
      ORDER BY m.seq ${older ? 'DESC' : 'ASC'} LIMIT $4`,
    [
      conversationId,
      page.asOf ?? Number.MAX_SAFE_INTEGER,
      older ? (page.before ?? Number.MAX_SAFE_INTEGER) : page.after,
      page.limit + 1,
      ...(page.messageIds ? [page.messageIds] : []),
      ...(page.replyTo !== undefined ? [page.replyTo] : []),
    ],
  );
  const messages = rows.slice(0, page.limit).map(toMessage);
  return { messages, nextCursor: rows.length > page.limit ? messages[messages.length - 1]!.seq : null };
}

function toMessage(r: z.output<typeof Row>): TimelineMessage {
  return {
    seq: r.seq,
    messageId: r.message_id,
    senderId: r.sender_id,
    text: r.text,
    replyToMessageId: r.reply_to,
    replyCount: r.reply_count,
    mentions: r.mentions,
    attachments: r.attachments,
    reactions: r.reactions,
    sentAt: r.sent_at.toISOString(),
    editedAt: r.edited_at ? r.edited_at.toISOString() : null,
    deleted: r.deleted,
  };
}

/** What a list shows of a message besides its preview: whether it is deleted, how many files it has. */
export interface MessageMark {
  readonly deleted: boolean;
  readonly attachmentCount: number;
}

/** Of these messages, the ones the timeline has (by their unique id: one index lookup each). */
export async function messageMarks(db: Sql, messageIds: readonly string[]): Promise<Map<string, MessageMark>> {
  if (messageIds.length === 0) return new Map();
  const rows = await select(
    db,
    z.object({ message_id: z.string(), deleted: z.boolean(), attachments: z.number() }),
    `SELECT message_id, deleted, json_array_length(attachments) AS attachments
       FROM rm_timeline_v1_messages WHERE message_id = ANY($1::uuid[])`,
    [messageIds],
  );
  return new Map(rows.map((r) => [r.message_id, { deleted: r.deleted, attachmentCount: r.attachments }]));
}

/** Where a message stands in its conversation, if the timeline has it there (a thread's root). */
export async function messageSeq(db: Sql, conversationId: string, messageId: string): Promise<number | null> {
  const [row] = await select(
    db,
    z.object({ seq: z.number() }),
    'SELECT seq::int AS seq FROM rm_timeline_v1_messages WHERE conversation_id = $1 AND message_id = $2',
    [conversationId, messageId],
  );
  return row?.seq ?? null;
}

/** How many participants a thread lists at most (`participantCount` counts them all). */
export const THREAD_PARTICIPANTS = 100;

export interface ThreadFacts {
  /** Who wrote the root or a reply not deleted, by user id: the first THREAD_PARTICIPANTS. */
  readonly participants: string[];
  readonly participantCount: number;
  /**
   * Whether `userId` is in the thread: wrote the root or a reply, or is named (by id, not
   * `@all`) in the mentions of the root or of a reply, that is not deleted.
   */
  readonly involved: boolean;
  /** Replies not deleted, not by `userId`, after seq `readSeq`. */
  readonly unread: number;
}

/**
 * A thread's participants and, for one user, whether they are in it and how many of its
 * replies they have not read: one pass over the thread's rows through the reply index. As
 * of a seq (a departed member's leaving), only what stood then: no later reply, and a
 * message deleted later still counts (ADR 008).
 */
export async function threadFacts(
  db: Sql,
  conversationId: string,
  rootId: string,
  user: { readonly userId: string; readonly readSeq: number },
  asOf = Number.MAX_SAFE_INTEGER,
): Promise<ThreadFacts> {
  const [row] = await select(
    db,
    z.object({
      participants: z.array(z.string()),
      participant_count: z.number(),
      involved: z.boolean(),
      unread: z.number(),
    }),
    `WITH thread AS (
       SELECT m.seq, m.sender_id, m.mentions, m.message_id = $2 AS root,
              m.deleted AND NOT EXISTS (SELECT 1 FROM rm_timeline_v1_message_versions v
                                         WHERE v.message_id = m.message_id AND v.until_seq > $6) AS deleted
         FROM rm_timeline_v1_messages m
        WHERE m.conversation_id = $1 AND (m.message_id = $2 OR m.reply_to = $2) AND m.seq <= $6),
     people AS (SELECT DISTINCT sender_id FROM thread WHERE NOT deleted)
     SELECT coalesce((SELECT array_agg(sender_id::text ORDER BY sender_id) FROM
              (SELECT sender_id FROM people ORDER BY sender_id LIMIT $5) p), '{}') AS participants,
            (SELECT count(*) FROM people)::int AS participant_count,
            EXISTS (SELECT 1 FROM thread WHERE NOT deleted
                       AND (sender_id = $3 OR (mentions->'userIds')::jsonb ? $3::text)) AS involved,
            (SELECT count(*) FROM thread WHERE NOT root AND NOT deleted AND sender_id <> $3 AND seq > $4)::int AS unread`,
    [conversationId, rootId, user.userId, user.readSeq, THREAD_PARTICIPANTS, asOf],
  );
  return {
    participants: row!.participants,
    participantCount: row!.participant_count,
    involved: row!.involved,
    unread: row!.unread,
  };
}
