/**
 * The timeline's reads: a page of a conversation's messages by seq, as they are now or as
 * they were at a seq (ADR 008). The only code that reads the timeline's tables, with
 * `timeline.projection.ts` that writes them.
 */
import type { DataSource, EntityManager } from 'typeorm';

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
}

/** A row as the statement below selects it (pg gives json as parsed values, timestamptz as Date). */
interface Row {
  readonly seq: number;
  readonly message_id: string;
  readonly sender_id: string;
  readonly text: string;
  readonly reply_to: string | null;
  readonly reply_count: number;
  readonly mentions: { userIds: string[]; all: boolean };
  readonly attachments: unknown[];
  readonly reactions: Record<string, string[]>;
  readonly sent_at: Date;
  readonly edited_at: Date | null;
  readonly deleted: boolean;
}

/**
 * A page of messages by seq with the cursor of the next page (null on the last). Keyset
 * by seq, and as of a seq each message costs index lookups of its own (its next version,
 * its reply count, its reaction spans): a page costs what it shows, never the
 * conversation's length or a thread's.
 */
export async function timelinePage(
  db: DataSource | EntityManager,
  conversationId: string,
  page: TimelinePageQuery,
): Promise<{ messages: TimelineMessage[]; nextCursor: number | null }> {
  const older = page.after === undefined;
  const asOf = page.asOf !== undefined;
  // $2: the last seq shown. As of it, a message changed later reads as the version the
  // first later change ended (v); one not changed since reads as it is.
  const rows = await db.query<Row[]>(
    `SELECT m.seq::int AS seq, m.message_id, m.sender_id, m.reply_to, m.sent_at,
            ${
              asOf
                ? `CASE WHEN v.message_id IS NULL THEN m.text ELSE v.text END AS text,
                   CASE WHEN v.message_id IS NULL THEN m.mentions ELSE v.mentions END AS mentions,
                   CASE WHEN v.message_id IS NULL THEN m.attachments ELSE v.attachments END AS attachments,
                   CASE WHEN v.message_id IS NULL THEN m.edited_at ELSE v.edited_at END AS edited_at,
                   m.deleted AND v.message_id IS NULL AS deleted,
                   coalesce((SELECT c.reply_count FROM rm_reply_counts c
                     WHERE c.message_id = m.message_id AND c.seq <= $2
                     ORDER BY c.seq DESC LIMIT 1), 0) AS reply_count,`
                : 'm.text, m.mentions, m.attachments, m.edited_at, m.deleted, m.reply_count,'
            }
            coalesce((SELECT json_object_agg(emoji, users) FROM
               (SELECT emoji, json_agg(user_id ORDER BY user_id) AS users FROM rm_reactions r
                 WHERE r.message_id = m.message_id
                   AND ${asOf ? 'r.added_seq <= $2 AND (r.removed_seq IS NULL OR r.removed_seq > $2)' : 'r.removed_seq IS NULL'}
                 GROUP BY emoji) x), '{}') AS reactions
       FROM rm_messages m
       ${
         asOf
           ? `LEFT JOIN LATERAL (SELECT * FROM rm_message_versions mv
                WHERE mv.message_id = m.message_id AND mv.until_seq > $2
                ORDER BY mv.until_seq LIMIT 1) v ON true`
           : ''
       }
      WHERE m.conversation_id = $1 AND m.seq <= $2
        AND ${older ? 'm.seq < $3' : 'm.seq > $3'}
      ORDER BY m.seq ${older ? 'DESC' : 'ASC'} LIMIT $4`,
    [
      conversationId,
      page.asOf ?? Number.MAX_SAFE_INTEGER,
      older ? (page.before ?? Number.MAX_SAFE_INTEGER) : page.after,
      page.limit + 1,
    ],
  );
  const messages = rows.slice(0, page.limit).map(toMessage);
  return { messages, nextCursor: rows.length > page.limit ? messages[messages.length - 1]!.seq : null };
}

function toMessage(r: Row): TimelineMessage {
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
