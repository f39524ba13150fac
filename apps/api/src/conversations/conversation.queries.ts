/**
 * Reads for conversations, from the membership and timeline read models, with the
 * caller's access checked on every read: members see a conversation; a member who left or
 * was kicked still sees its messages up to their leaving, and nothing after. Anyone else
 * gets NOT_FOUND, whether the conversation exists or not.
 */
import { ConversationError } from '@herald/conversations';
import { EVERYONE, timelinePage, type TimelineMessage } from '@herald/projections';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { FIRST_USER, toPage } from '../paging.js';
import { encodeInboxCursor, type InboxPosition } from './inbox-cursor.js';

export interface ConversationSummary {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly name: string | null;
  readonly role: string;
  /** Muted now: a mute with an end reads as not muted once that has passed. */
  readonly muted: boolean;
  /** A dissolved group: its history stays readable, nothing more can be written to it. */
  readonly dissolved: boolean;
  readonly lastSeq: number;
  readonly messageCount: number;
  readonly lastActivityAt: string;
  readonly lastMessage: {
    readonly messageId: string;
    readonly senderId: string;
    /** The start of its text as it reads now (edited; empty once deleted). */
    readonly preview: string;
    /** So that a client can show "deleted" or "a file" where the preview is empty. */
    readonly deleted: boolean;
    readonly attachmentCount: number;
  } | null;
  /** Messages after the caller's read marker, not counting their own. */
  readonly unreadCount: number;
  /** Unread messages that mention the caller by name or @all. */
  readonly mentionCount: number;
  readonly readSeq: number;
}

export type MessageView = TimelineMessage;

export interface MemberView {
  readonly userId: string;
  readonly role: string;
}

/** How far a member has received and read a conversation (delivery and read receipts). */
export interface Receipt {
  readonly userId: string;
  readonly readSeq: number;
  readonly deliveredSeq: number;
}

/** The cursor's time, rebuilt from its integer microseconds: exact, as a JS Date would not be. */
const CURSOR_AT = `('epoch'::timestamptz + $4::bigint * interval '1 microsecond')`;

interface Access {
  readonly role: string;
  /** The last seq the caller may read (their leaving), or null while a member. */
  readonly leftSeq: number | null;
}

@Injectable()
export class ConversationQueries {
  constructor(private readonly db: DataSource) {}

  /**
   * The caller's inbox, most recently active first, a page at a time (`cursor`: where the
   * page before ended). A conversation active while one pages moves to the front: the pages
   * after it no longer hold it, the next first page does.
   */
  async list(
    userId: string,
    page: { cursor?: InboxPosition; limit: number },
  ): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
    // After the cursor in this order: less recent, or as recent with a greater id.
    const keyset = page.cursor
      ? `AND (c.last_activity_at < ${CURSOR_AT} OR (c.last_activity_at = ${CURSOR_AT} AND c.conversation_id > $5))`
      : '';
    const rows = await this.db.query<Record<string, unknown>[]>(
      `SELECT c.conversation_id, c.kind, c.name, m.role, c.dissolved, c.last_seq::int AS last_seq,
              m.muted AND (m.muted_until IS NULL OR m.muted_until > now()) AS muted,
              c.message_count::int AS message_count, c.last_activity_at, c.last_message_id, c.last_sender_id, c.last_preview,
              (extract(epoch FROM c.last_activity_at) * 1000000)::bigint::text AS activity_micros,
              coalesce(lm.deleted, false) AS last_deleted, coalesce(json_array_length(lm.attachments), 0) AS last_attachments,
              coalesce(ic.message_count - i.read_count
                       - (SELECT count(*) FROM rm_inbox_messages d
                           WHERE d.conversation_id = c.conversation_id AND d.deleted AND d.seq > i.read_seq), 0)::int AS unread_count,
              coalesce(i.read_seq, -1)::int AS read_seq,
              (SELECT count(DISTINCT x.seq) FROM rm_inbox_mentions x
                WHERE x.conversation_id = c.conversation_id AND x.user_id IN ($1, $3)
                  AND x.seq > coalesce(i.read_seq, -1) AND x.sender_id <> $1)::int AS mention_count
         FROM rm_members m JOIN rm_conversations c USING (conversation_id)
         LEFT JOIN rm_inbox_members i ON i.user_id = m.user_id AND i.conversation_id = m.conversation_id
         LEFT JOIN rm_inbox_conversations ic ON ic.conversation_id = m.conversation_id
         -- The last message as the timeline has it (by its unique id: one index lookup a row).
         LEFT JOIN rm_messages lm ON lm.message_id = c.last_message_id
        WHERE m.user_id = $1 AND m.left_seq IS NULL ${keyset}
        ORDER BY c.last_activity_at DESC, c.conversation_id LIMIT $2`,
      [
        userId,
        page.limit + 1,
        EVERYONE,
        ...(page.cursor ? [page.cursor.activityMicros, page.cursor.conversationId] : []),
      ],
    );
    const { rows: shown, nextCursor } = toPage(rows, page.limit, (last) =>
      encodeInboxCursor({
        activityMicros: last.activity_micros as string,
        conversationId: last.conversation_id as string,
      }),
    );
    return { conversations: shown.map(toSummary), nextCursor };
  }

  /** The conversation's details and how many members it has (the members themselves: `members`). */
  async get(userId: string, conversationId: string): Promise<Record<string, unknown>> {
    const access = await this.access(userId, conversationId);
    if (access.leftSeq !== null) throw notFound();
    const [conversation] = await this.db.query<Record<string, unknown>[]>(
      `SELECT conversation_id AS "conversationId", kind, name, description, announcement, dissolved,
              last_seq::int AS "lastSeq", created_at AS "createdAt",
              (SELECT count(*) FROM rm_members m
                WHERE m.conversation_id = $1 AND m.left_seq IS NULL)::int AS "memberCount"
         FROM rm_conversations WHERE conversation_id = $1`,
      [conversationId],
    );
    if (!conversation) throw notFound();
    return conversation;
  }

  /** The current members, a page at a time by user id (`cursor`: the last user id of the page before). */
  async members(
    userId: string,
    conversationId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ members: MemberView[]; nextCursor: string | null }> {
    const access = await this.access(userId, conversationId);
    if (access.leftSeq !== null) throw notFound();
    const rows = await this.db.query<MemberView[]>(
      `SELECT user_id AS "userId", role FROM rm_members
        WHERE conversation_id = $1 AND left_seq IS NULL AND user_id > $2
        ORDER BY user_id LIMIT $3`,
      [conversationId, page.cursor ?? FIRST_USER, page.limit + 1],
    );
    const { rows: members, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
    return { members, nextCursor };
  }

  /** The members' receipts, a page at a time by user id (`cursor`: the last user id of the page before). */
  async receipts(
    userId: string,
    conversationId: string,
    page: { cursor?: string; limit: number },
  ): Promise<{ receipts: Receipt[]; nextCursor: string | null }> {
    const access = await this.access(userId, conversationId);
    if (access.leftSeq !== null) throw notFound();
    // In a direct conversation, the markers of a member the caller blocked are not shown
    // (ADR 007): what a blocked user does reaches the one who blocked them nowhere.
    const rows = await this.db.query<Receipt[]>(
      `SELECT m.user_id AS "userId",
              CASE WHEN hidden.yes THEN -1 ELSE coalesce(i.read_seq, -1) END::int AS "readSeq",
              CASE WHEN hidden.yes THEN -1 ELSE coalesce(i.delivered_seq, -1) END::int AS "deliveredSeq"
         FROM rm_members m
         JOIN rm_conversations c USING (conversation_id)
         LEFT JOIN rm_inbox_members i ON i.user_id = m.user_id AND i.conversation_id = m.conversation_id
         CROSS JOIN LATERAL (SELECT c.kind = 'direct' AND EXISTS (
           SELECT 1 FROM rm_blocks b WHERE b.user_id = $4 AND b.blocked_user_id = m.user_id)) AS hidden(yes)
        WHERE m.conversation_id = $1 AND m.left_seq IS NULL AND m.user_id > $2
        ORDER BY m.user_id LIMIT $3`,
      [conversationId, page.cursor ?? FIRST_USER, page.limit + 1, userId],
    );
    const { rows: receipts, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
    return { receipts, nextCursor };
  }

  /**
   * A page of messages by seq: `before` (older, newest first) or `after` (newer, oldest
   * first). A member who left reads the conversation as it was at their leaving: nothing
   * sent, edited, deleted or reacted after it (ADR 008).
   */
  async messages(
    userId: string,
    conversationId: string,
    page: { before?: number; after?: number; limit: number },
  ): Promise<{ messages: MessageView[]; nextCursor: number | null }> {
    const access = await this.access(userId, conversationId);
    return timelinePage(this.db, conversationId, {
      ...page,
      ...(access.leftSeq !== null ? { asOf: access.leftSeq } : {}),
    });
  }

  private async access(userId: string, conversationId: string): Promise<Access> {
    const [row] = await this.db.query<{ role: string; left_seq: string | null }[]>(
      'SELECT role, left_seq FROM rm_members WHERE conversation_id = $1 AND user_id = $2',
      [conversationId, userId],
    );
    if (!row) throw notFound();
    return { role: row.role, leftSeq: row.left_seq === null ? null : Number(row.left_seq) };
  }
}

const notFound = (): ConversationError =>
  new ConversationError('CONVERSATION.NOT_FOUND', 'No such conversation, or you are not a member');

function toSummary(r: Record<string, unknown>): ConversationSummary {
  return {
    conversationId: r.conversation_id as string,
    kind: r.kind as 'direct' | 'group',
    name: r.name as string | null,
    role: r.role as string,
    muted: r.muted as boolean,
    dissolved: r.dissolved as boolean,
    lastSeq: r.last_seq as number,
    messageCount: r.message_count as number,
    lastActivityAt: (r.last_activity_at as Date).toISOString(),
    lastMessage: r.last_message_id
      ? {
          messageId: r.last_message_id as string,
          senderId: r.last_sender_id as string,
          preview: r.last_preview as string,
          deleted: r.last_deleted as boolean,
          attachmentCount: r.last_attachments as number,
        }
      : null,
    unreadCount: r.unread_count as number,
    mentionCount: r.mention_count as number,
    readSeq: r.read_seq as number,
  };
}
