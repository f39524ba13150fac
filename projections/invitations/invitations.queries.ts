/** invitations.v1's reads: the only code, with `invitations.projection.ts`, that names its table. */
import { z } from 'zod';
import { FIRST_USER, select, toPage, type Sql } from '../sql.js';

const Pending = z.object({
  conversationId: z.string(),
  invitedBy: z.string(),
  invitedAt: z.date().transform((d) => d.toISOString()),
});
export type PendingInvitation = z.output<typeof Pending>;

/** A user's pending invitations, by the group's id (`cursor`: the last id of the page before). */
export async function pendingInvitationsOf(
  db: Sql,
  userId: string,
  page: { cursor?: string; limit: number },
): Promise<{ invitations: PendingInvitation[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    Pending,
    `SELECT conversation_id AS "conversationId", invited_by AS "invitedBy", invited_at AS "invitedAt"
       FROM rm_invitations_v1_invitations
      WHERE user_id = $1 AND pending AND conversation_id > $2 ORDER BY conversation_id LIMIT $3`,
    [userId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: invitations, nextCursor } = toPage(rows, page.limit, (last) => last.conversationId);
  return { invitations, nextCursor };
}
