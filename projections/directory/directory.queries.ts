/**
 * directory.v1's reads: the only code, with `directory.projection.ts` that writes them,
 * that names its tables. Users by name, a user's contacts and blocks, and the relations
 * between pairs of users that presence and receipts decide on.
 */
import { z } from 'zod';
import { FIRST_USER, select, toPage, type Sql } from '../sql.js';

const Profile = z.object({
  userId: z.string(),
  username: z.string(),
  displayName: z.string(),
  avatarUrl: z.string().nullable(),
  statusText: z.string().nullable(),
});
export type DirectoryProfile = z.output<typeof Profile>;

/** The user with this exact (lower-case) user name, if any. */
export async function usersNamed(db: Sql, username: string): Promise<DirectoryProfile[]> {
  return select(
    db,
    Profile,
    `SELECT user_id AS "userId", username, display_name AS "displayName", avatar_url AS "avatarUrl",
            status_text AS "statusText"
       FROM rm_directory_v1_users WHERE username = $1`,
    [username],
  );
}

const Contact = z.object({ userId: z.string(), status: z.string() });
export type Contact = z.output<typeof Contact>;

/** A user's contacts and requests both ways, by the other's id (`cursor`: the last id of the page before). */
export async function contactsOf(
  db: Sql,
  userId: string,
  page: { cursor?: string; limit: number },
): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    Contact,
    `SELECT contact_id AS "userId", status FROM rm_directory_v1_contacts
      WHERE user_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3`,
    [userId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: contacts, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
  return { contacts, nextCursor };
}

const Request = z.object({ userId: z.string(), direction: z.enum(['received', 'sent']) });
export type ContactRequest = z.output<typeof Request>;

/** A user's pending contact requests both ways, by the other's id (`cursor`: the last id of the page before). */
export async function contactRequestsOf(
  db: Sql,
  userId: string,
  page: { cursor?: string; limit: number },
): Promise<{ requests: ContactRequest[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    Request,
    `SELECT contact_id AS "userId", CASE status WHEN 'request_received' THEN 'received' ELSE 'sent' END AS direction
       FROM rm_directory_v1_contacts
      WHERE user_id = $1 AND status IN ('request_received', 'request_sent') AND contact_id > $2
      ORDER BY contact_id LIMIT $3`,
    [userId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: requests, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
  return { requests, nextCursor };
}

/** The users a user blocked, by id (`cursor`: the last id of the page before). */
export async function blocksOf(
  db: Sql,
  userId: string,
  page: { cursor?: string; limit: number },
): Promise<{ blocks: { userId: string }[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    z.object({ userId: z.string() }),
    `SELECT blocked_user_id AS "userId" FROM rm_directory_v1_blocks
      WHERE user_id = $1 AND blocked_user_id > $2 ORDER BY blocked_user_id LIMIT $3`,
    [userId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: blocks, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
  return { blocks, nextCursor };
}

/** Of `userIds`, those whom `userId` blocked. */
export async function blockedBy(db: Sql, userId: string, userIds: readonly string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await select(
    db,
    z.object({ id: z.string() }),
    'SELECT blocked_user_id AS id FROM rm_directory_v1_blocks WHERE user_id = $1 AND blocked_user_id = ANY($2::uuid[])',
    [userId, userIds],
  );
  return new Set(rows.map((r) => r.id));
}

export interface Relation {
  readonly userId: string;
  readonly otherId: string;
  /** They accepted each other as contacts. */
  readonly contacts: boolean;
  /** Either has blocked the other. */
  readonly blocked: boolean;
}

/** How each of these (user, other) pairs stands: contacts, and blocked either way. */
export async function relations(db: Sql, pairs: readonly (readonly [string, string])[]): Promise<Relation[]> {
  if (pairs.length === 0) return [];
  return select(
    db,
    z.object({ userId: z.string(), otherId: z.string(), contacts: z.boolean(), blocked: z.boolean() }),
    `SELECT p.user_id AS "userId", p.other_id AS "otherId",
            EXISTS (SELECT 1 FROM rm_directory_v1_contacts k
                     WHERE k.user_id = p.user_id AND k.contact_id = p.other_id AND k.status = 'contacts') AS contacts,
            EXISTS (SELECT 1 FROM rm_directory_v1_blocks b
                     WHERE (b.user_id = p.user_id AND b.blocked_user_id = p.other_id)
                        OR (b.user_id = p.other_id AND b.blocked_user_id = p.user_id)) AS blocked
       FROM (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[]) AS u(user_id, other_id)) p`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
}
