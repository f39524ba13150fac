/**
 * inbox.v1's reads: the only code, with `inbox.projection.ts` that writes them, that names
 * its tables. Here, and only here, are the unread and mention formulas.
 */
import { z } from 'zod';
import { select, type Sql } from '../sql.js';
import { EVERYONE } from './inbox.projection.js';

export interface Unread {
  /** Messages after the user's read marker, not counting their own or deleted ones. */
  readonly unreadCount: number;
  /** Unread messages that mention the user by name or @all. */
  readonly mentionCount: number;
  /** The user's read marker (-1: nothing read). */
  readonly readSeq: number;
}

const NOTHING: Unread = { unreadCount: 0, mentionCount: 0, readSeq: -1 };

const UnreadRow = z.object({
  conversation_id: z.string(),
  unread_count: z.number(),
  mention_count: z.number(),
  read_seq: z.number(),
});

/**
 * A user's unread and mention counts in each of these conversations, O(1) per
 * conversation whatever its size: its message count less the user's read count less the
 * deleted messages after the marker (a partial index finds them); mentions are rows only
 * for the users named and @all. A conversation the inbox does not know reads as nothing unread.
 */
export async function unreadCounts(
  db: Sql,
  userId: string,
  conversationIds: readonly string[],
): Promise<Map<string, Unread>> {
  if (conversationIds.length === 0) return new Map();
  const rows = await select(
    db,
    UnreadRow,
    `SELECT c.conversation_id,
            coalesce(ic.message_count - i.read_count
                     - (SELECT count(*) FROM rm_inbox_v1_messages d
                         WHERE d.conversation_id = c.conversation_id AND d.deleted AND d.seq > i.read_seq), 0)::int AS unread_count,
            coalesce(i.read_seq, -1)::int AS read_seq,
            (SELECT count(DISTINCT x.seq) FROM rm_inbox_v1_mentions x
              WHERE x.conversation_id = c.conversation_id AND x.user_id IN ($1, $3)
                AND x.seq > coalesce(i.read_seq, -1) AND x.sender_id <> $1)::int AS mention_count
       FROM unnest($2::uuid[]) AS c(conversation_id)
       LEFT JOIN rm_inbox_v1_members i ON i.user_id = $1 AND i.conversation_id = c.conversation_id
       LEFT JOIN rm_inbox_v1_conversations ic ON ic.conversation_id = c.conversation_id`,
    [userId, conversationIds, EVERYONE],
  );
  const counts = new Map<string, Unread>(conversationIds.map((id) => [id, NOTHING]));
  for (const r of rows) {
    counts.set(r.conversation_id, { unreadCount: r.unread_count, mentionCount: r.mention_count, readSeq: r.read_seq });
  }
  return counts;
}

export interface Markers {
  readonly readSeq: number;
  readonly deliveredSeq: number;
}

/** How far each of these users has received and read a conversation (-1: not at all). */
export async function markers(
  db: Sql,
  conversationId: string,
  userIds: readonly string[],
): Promise<Map<string, Markers>> {
  if (userIds.length === 0) return new Map();
  const rows = await select(
    db,
    z.object({ user_id: z.string(), read_seq: z.number(), delivered_seq: z.number() }),
    `SELECT user_id, read_seq::int AS read_seq, delivered_seq::int AS delivered_seq
       FROM rm_inbox_v1_members WHERE conversation_id = $1 AND user_id = ANY($2::uuid[])`,
    [conversationId, userIds],
  );
  return new Map(rows.map((r) => [r.user_id, { readSeq: r.read_seq, deliveredSeq: r.delivered_seq }]));
}
