/**
 * moderation.v1's reads: the only code, with `moderation.projection.ts` that writes them,
 * that names its tables. A group's announcement-only setting, members' silences as they
 * stand at a time, the standing bans by user id, and the pins standing now or as of a seq.
 */
import { z } from 'zod';
import { FIRST_USER, select, toPage, type Sql } from '../sql.js';

/**
 * A conversation's moderation as one user meets it at `now`, in one statement: whether only
 * its owner and admins send (false for a group never switched, and for a direct
 * conversation), and the end of that user's silence (ISO, UTC; null unless silenced now).
 */
export async function moderationFor(
  db: Sql,
  conversationId: string,
  userId: string,
  now: Date,
): Promise<{ announcementOnly: boolean; silencedUntil: string | null }> {
  const [row] = await select(
    db,
    z.object({ announcement_only: z.boolean(), silenced_until: z.date().nullable() }),
    `SELECT coalesce((SELECT announcement_only FROM rm_moderation_v1_groups WHERE conversation_id = $1), false)
              AS announcement_only,
            (SELECT silenced_until FROM rm_moderation_v1_silences
              WHERE conversation_id = $1 AND user_id = $2 AND silenced_until > $3) AS silenced_until`,
    [conversationId, userId, now],
  );
  return { announcementOnly: row!.announcement_only, silencedUntil: row!.silenced_until?.toISOString() ?? null };
}

/**
 * Of these users, those silenced in the conversation at `now`, to the end of their
 * silence (ISO, UTC). A silence that has ended by `now` is none: the reader's clock
 * decides what the projection, which has none, cannot.
 */
export async function silencedUntil(
  db: Sql,
  conversationId: string,
  userIds: readonly string[],
  now: Date,
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await select(
    db,
    z.object({ user_id: z.string(), silenced_until: z.date() }),
    `SELECT user_id, silenced_until FROM rm_moderation_v1_silences
      WHERE conversation_id = $1 AND user_id = ANY($2::uuid[]) AND silenced_until > $3`,
    [conversationId, userIds, now],
  );
  return new Map(rows.map((r) => [r.user_id, r.silenced_until.toISOString()]));
}

const Ban = z.object({ userId: z.string(), bannedBy: z.string(), bannedAt: z.date() });

export interface Ban {
  readonly userId: string;
  readonly bannedBy: string;
  readonly bannedAt: string;
}

/** The users banned from a group now, by user id, a page at a time (`cursor`: the last user id of the page before). */
export async function bansPage(
  db: Sql,
  conversationId: string,
  page: { cursor?: string; limit: number },
): Promise<{ bans: Ban[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    Ban,
    `SELECT user_id AS "userId", banned_by AS "bannedBy", banned_at AS "bannedAt" FROM rm_moderation_v1_bans
      WHERE conversation_id = $1 AND banned AND user_id > $2
      ORDER BY user_id LIMIT $3`,
    [conversationId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: shown, nextCursor } = toPage(rows, page.limit, (last) => last.userId);
  return { bans: shown.map((r) => ({ ...r, bannedAt: r.bannedAt.toISOString() })), nextCursor };
}

export interface Pin {
  /** The seq of the pin itself (its MessagePinned): pins are listed by it, newest first. */
  readonly pinnedSeq: number;
  readonly messageId: string;
  readonly pinnedBy: string;
  readonly pinnedAt: string;
}

const PinRow = z.object({ pinned_seq: z.string(), message_id: z.string(), pinned_by: z.string(), pinned_at: z.date() });

/**
 * The pins standing in a conversation, the most recently pinned first, a page at a time
 * (`before`: the `pinnedSeq` of the page's last pin before). `asOf`: as they stood once the
 * event at that seq was applied (a member who left reads them as at their leaving).
 */
export async function pinsPage(
  db: Sql,
  conversationId: string,
  page: { before?: number; limit: number; asOf?: number },
): Promise<{ pins: Pin[]; nextCursor: number | null }> {
  const asOf = page.asOf ?? Number.MAX_SAFE_INTEGER;
  const rows = await select(
    db,
    PinRow,
    `SELECT pinned_seq::text AS pinned_seq, message_id, pinned_by, pinned_at FROM rm_moderation_v1_pins
      WHERE conversation_id = $1 AND pinned_seq <= $2 AND (unpinned_seq IS NULL OR unpinned_seq > $2)
        AND pinned_seq < $3
      ORDER BY pinned_seq DESC LIMIT $4`,
    [conversationId, asOf, page.before ?? Number.MAX_SAFE_INTEGER, page.limit + 1],
  );
  const { rows: shown, nextCursor } = toPage(rows, page.limit, (last) => Number(last.pinned_seq));
  return {
    pins: shown.map((r) => ({
      pinnedSeq: Number(r.pinned_seq),
      messageId: r.message_id,
      pinnedBy: r.pinned_by,
      pinnedAt: r.pinned_at.toISOString(),
    })),
    nextCursor,
  };
}
