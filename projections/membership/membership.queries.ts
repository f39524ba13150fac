/**
 * membership.v1's reads: the only code, with `membership.projection.ts` that writes them,
 * that names its tables. Who is a member (and since when they left), a conversation's
 * details and members, a user's conversations ordered by last activity, and who shares a
 * conversation with whom (presence).
 */
import { z } from 'zod';
import { FIRST_USER, select, toPage, type Sql } from '../sql.js';

/** Where a conversation stands in a user's list: its last activity (integer microseconds, as text), then its id. */
export interface ActivityPosition {
  readonly activityMicros: string;
  readonly conversationId: string;
}

export interface MemberAccess {
  readonly role: string;
  /** The last seq the user may read (their leaving), or null while a member. */
  readonly leftSeq: number | null;
}

// Seqs are bigint: as text, never cast to a 32-bit int that a long conversation would overflow.
const Access = z.object({ role: z.string(), left_seq: z.string().nullable() });

/** A user's place in a conversation, past or present; null when they never were a member. */
export async function memberAccess(db: Sql, conversationId: string, userId: string): Promise<MemberAccess | null> {
  const [row] = await select(
    db,
    Access,
    'SELECT role, left_seq::text AS left_seq FROM rm_membership_v1_members WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId],
  );
  return row ? { role: row.role, leftSeq: row.left_seq === null ? null : Number(row.left_seq) } : null;
}

const Kind = z.enum(['direct', 'group']);

const Details = z.object({
  conversationId: z.string(),
  kind: Kind,
  name: z.string().nullable(),
  description: z.string().nullable(),
  announcement: z.string().nullable(),
  dissolved: z.boolean(),
  lastSeq: z.number(),
  createdAt: z.date(),
  memberCount: z.number(),
});
export type ConversationDetails = z.output<typeof Details>;

/** A conversation's details and how many current members it has (a counter: one row read, whatever the group's size). */
export async function conversationDetails(db: Sql, conversationId: string): Promise<ConversationDetails | null> {
  const [row] = await select(
    db,
    Details,
    `SELECT conversation_id AS "conversationId", kind, name, description, announcement, dissolved,
            last_seq::int AS "lastSeq", created_at AS "createdAt", member_count::int AS "memberCount"
       FROM rm_membership_v1_conversations WHERE conversation_id = $1`,
    [conversationId],
  );
  return row ?? null;
}

/** Whether a conversation is direct or a group; null when there is no such conversation. */
export async function conversationKind(db: Sql, conversationId: string): Promise<'direct' | 'group' | null> {
  const [row] = await select(
    db,
    z.object({ kind: Kind }),
    'SELECT kind FROM rm_membership_v1_conversations WHERE conversation_id = $1',
    [conversationId],
  );
  return row?.kind ?? null;
}

const Member = z.object({ userId: z.string(), role: z.string() });
export type Member = z.output<typeof Member>;

/** The current members by user id, a page at a time (`cursor`: the last user id of the page before). */
export async function currentMembers(
  db: Sql,
  conversationId: string,
  page: { cursor?: string; limit: number },
): Promise<{ members: Member[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    Member,
    `SELECT user_id AS "userId", role FROM rm_membership_v1_members
      WHERE conversation_id = $1 AND left_seq IS NULL AND user_id > $2
      ORDER BY user_id LIMIT $3`,
    [conversationId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: members, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
  return { members, nextCursor };
}

const Listed = z.object({
  conversation_id: z.string(),
  kind: Kind,
  name: z.string().nullable(),
  role: z.string(),
  dissolved: z.boolean(),
  last_seq: z.number(),
  muted: z.boolean(),
  message_count: z.number(),
  last_activity_at: z.date(),
  last_message_id: z.string().nullable(),
  last_sender_id: z.string().nullable(),
  last_preview: z.string().nullable(),
  activity_micros: z.string(),
});

export interface ListedConversation {
  readonly conversationId: string;
  readonly kind: 'direct' | 'group';
  readonly name: string | null;
  readonly role: string;
  /** Muted now: a mute with an end reads as not muted once that has passed. */
  readonly muted: boolean;
  readonly dissolved: boolean;
  readonly lastSeq: number;
  readonly messageCount: number;
  readonly lastActivityAt: string;
  readonly lastMessage: { readonly messageId: string; readonly senderId: string; readonly preview: string } | null;
}

/** The cursor's time, rebuilt from its integer microseconds: exact, as a JS Date would not be. */
const CURSOR_AT = `('epoch'::timestamptz + $3::bigint * interval '1 microsecond')`;

/**
 * The conversations a user is a member of, most recently active first, a page at a time
 * (`cursor`: where the page before ended). A conversation active while one pages moves to
 * the front: the pages after it no longer hold it, the next first page does.
 *
 * Two ranges, merged (ADR 036): the conversations that are not large, down the index of the
 * user's rows in this order (their rows carry the activity), from the cursor on; and the large
 * groups the user is in, read with their activity from the conversation rows. A page costs
 * `limit` index entries plus the user's large groups, however many conversations the user has.
 */
export async function conversationsOf(
  db: Sql,
  userId: string,
  page: { cursor?: ActivityPosition; limit: number },
): Promise<{ conversations: ListedConversation[]; nextCursor: ActivityPosition | null }> {
  // After the cursor in this order: less recent, or as recent with a greater id. The first
  // bound alone is what an index range can start from; the second drops the ties before it.
  const after = (at: string, id: string): string =>
    page.cursor ? `AND ${at} <= ${CURSOR_AT} AND (${at} < ${CURSOR_AT} OR ${id} > $4)` : '';
  const rows = await select(
    db,
    Listed,
    `WITH large AS MATERIALIZED (
       -- The user's large groups first, on their own: left to itself the planner may walk every
       -- conversation by activity instead, looking each up in the user's rows.
       SELECT m.conversation_id FROM rm_membership_v1_members m
        WHERE m.user_id = $1 AND m.left_seq IS NULL AND m.activity_at IS NULL),
     page AS (
       (SELECT m.conversation_id, m.activity_at AS at FROM rm_membership_v1_members m
         WHERE m.user_id = $1 AND m.left_seq IS NULL AND m.activity_at IS NOT NULL ${after('m.activity_at', 'm.conversation_id')}
         ORDER BY m.activity_at DESC, m.conversation_id LIMIT $2)
       UNION ALL
       (SELECT l.conversation_id, l.at
          FROM (SELECT large.conversation_id,
                       -- A key lookup per large group (a join may hash every conversation instead).
                       (SELECT c.last_activity_at FROM rm_membership_v1_conversations c
                         WHERE c.conversation_id = large.conversation_id) AS at
                  FROM large) l
         WHERE l.at IS NOT NULL ${after('l.at', 'l.conversation_id')}
         ORDER BY l.at DESC, l.conversation_id LIMIT $2)
       ORDER BY at DESC, conversation_id LIMIT $2)
     SELECT c.conversation_id, c.kind, c.name, m.role, c.dissolved, c.last_seq::int AS last_seq,
            m.muted AND (m.muted_until IS NULL OR m.muted_until > now()) AS muted,
            c.message_count::int AS message_count, c.last_activity_at, c.last_message_id, c.last_sender_id, c.last_preview,
            (extract(epoch FROM c.last_activity_at) * 1000000)::bigint::text AS activity_micros
       FROM page p
       JOIN rm_membership_v1_members m ON m.user_id = $1 AND m.conversation_id = p.conversation_id
       JOIN rm_membership_v1_conversations c ON c.conversation_id = p.conversation_id
      ORDER BY p.at DESC, p.conversation_id`,
    [userId, page.limit + 1, ...(page.cursor ? [page.cursor.activityMicros, page.cursor.conversationId] : [])],
  );
  const { rows: shown, nextCursor } = toPage(rows, page.limit, (last) => ({
    activityMicros: last.activity_micros,
    conversationId: last.conversation_id,
  }));
  return {
    conversations: shown.map((r) => ({
      conversationId: r.conversation_id,
      kind: r.kind,
      name: r.name,
      role: r.role,
      muted: r.muted,
      dissolved: r.dissolved,
      lastSeq: r.last_seq,
      messageCount: r.message_count,
      lastActivityAt: r.last_activity_at.toISOString(),
      lastMessage:
        r.last_message_id !== null && r.last_sender_id !== null
          ? { messageId: r.last_message_id, senderId: r.last_sender_id, preview: r.last_preview ?? '' }
          : null,
    })),
    nextCursor,
  };
}

/** Of these (user, other) pairs, those who are both current members of some conversation. */
export async function shareAConversation(
  db: Sql,
  pairs: readonly (readonly [string, string])[],
): Promise<{ userId: string; otherId: string }[]> {
  if (pairs.length === 0) return [];
  return select(
    db,
    z.object({ userId: z.string(), otherId: z.string() }),
    `SELECT p.user_id AS "userId", p.other_id AS "otherId"
       FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[]) AS u(user_id, other_id)) p
      WHERE EXISTS (SELECT 1 FROM rm_membership_v1_members w JOIN rm_membership_v1_members m USING (conversation_id)
                     WHERE w.user_id = p.user_id AND w.left_seq IS NULL
                       AND m.user_id = p.other_id AND m.left_seq IS NULL)`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
}

const Readable = z.object({ conversation_id: z.string(), left_seq: z.string().nullable(), messages: z.string() });

/**
 * Every conversation the user may read, with how far: all of it while a member (`leftSeq`
 * null), up to their leaving once they left or were kicked (ADR 008), and how many
 * messages it has had (for a search to choose its plan). One index range
 * (rm_membership_v1_members_by_user) and a key lookup each.
 */
export async function readableConversations(
  db: Sql,
  userId: string,
): Promise<{ conversationId: string; leftSeq: number | null; messageCount: number }[]> {
  const rows = await select(
    db,
    Readable,
    `SELECT m.conversation_id, m.left_seq::text AS left_seq, coalesce(c.message_count, 0)::text AS messages
       FROM rm_membership_v1_members m
       LEFT JOIN rm_membership_v1_conversations c ON c.conversation_id = m.conversation_id
      WHERE m.user_id = $1`,
    [userId],
  );
  return rows.map((r) => ({
    conversationId: r.conversation_id,
    leftSeq: r.left_seq === null ? null : Number(r.left_seq),
    messageCount: Number(r.messages),
  }));
}

/** For each count, a user who is in that many conversations (the search benchmark's users, found again). */
export async function usersByConversations(db: Sql, counts: readonly number[]): Promise<string[]> {
  const rows = await select(
    db,
    z.object({ user_id: z.string(), n: z.number() }),
    `SELECT user_id, count(*)::int AS n FROM rm_membership_v1_members GROUP BY user_id HAVING count(*) = ANY($1::int[])`,
    [counts],
  );
  return counts.map((n) => rows.find((r) => r.n === n)?.user_id ?? '');
}

/** The names of these groups (for lists other read models page, such as invitations), by id. */
export async function groupNames(db: Sql, conversationIds: readonly string[]): Promise<Map<string, string | null>> {
  if (conversationIds.length === 0) return new Map();
  const rows = await select(
    db,
    z.object({ conversationId: z.string(), name: z.string().nullable() }),
    `SELECT conversation_id AS "conversationId", name FROM rm_membership_v1_conversations
      WHERE conversation_id = ANY($1::uuid[])`,
    [conversationIds],
  );
  return new Map(rows.map((r) => [r.conversationId, r.name]));
}

const Audience = z.object({
  conversationId: z.string(),
  userId: z.string(),
  joinedSeq: z.number(),
  muted: z.boolean(),
});
export type AudienceMember = z.output<typeof Audience>;

/** Users named by a row of another module's table (`table`.`column`), which that module names. */
export interface UsersIn {
  readonly table: string;
  readonly column: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The current members of these conversations (not those who left or were kicked), with the
 * seq they joined at and whether they have muted it now: whom the notifier may notify.
 * `among`: only those with a row there (the notifier's devices), found in the database, so
 * that a group of 100,000 members of whom few have a device answers few rows (ADR 036).
 */
export async function notificationAudience(
  db: Sql,
  conversationIds: readonly string[],
  among?: UsersIn,
): Promise<AudienceMember[]> {
  if (conversationIds.length === 0) return [];
  if (among && !(IDENTIFIER.test(among.table) && IDENTIFIER.test(among.column))) {
    throw new Error(`not an identifier: ${among.table}.${among.column}`);
  }
  const having = among ? `AND EXISTS (SELECT 1 FROM ${among.table} x WHERE x.${among.column} = m.user_id)` : '';
  return select(
    db,
    Audience,
    `SELECT conversation_id AS "conversationId", user_id AS "userId", joined_seq::float8 AS "joinedSeq",
            (muted AND (muted_until IS NULL OR muted_until > now())) AS muted
       FROM rm_membership_v1_members m
      WHERE conversation_id = ANY($1::uuid[]) AND left_seq IS NULL ${having}`,
    [conversationIds],
  );
}
