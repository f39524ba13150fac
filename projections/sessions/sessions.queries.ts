/** sessions.v1's reads: the only code, with `sessions.projection.ts`, that names its table. */
import { z } from 'zod';
import { FIRST_USER, select, toPage, type Sql } from '../sql.js';

const iso = z.date().transform((d) => d.toISOString());
const SessionRow = z.object({
  sessionId: z.string(),
  deviceName: z.string().nullable(),
  client: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: iso,
  lastSeenAt: iso,
});
export type SessionSummary = z.output<typeof SessionRow>;

/**
 * A user's sessions that can still be used (neither ended nor past their refresh token's
 * expiry), by session id (`cursor`: the last id of the page before).
 */
export async function activeSessionsOf(
  db: Sql,
  userId: string,
  page: { cursor?: string; limit: number },
): Promise<{ sessions: SessionSummary[]; nextCursor: string | null }> {
  const rows = await select(
    db,
    SessionRow,
    `SELECT session_id AS "sessionId", device_name AS "deviceName", client, ip, created_at AS "createdAt",
            last_seen_at AS "lastSeenAt"
       FROM rm_sessions_v1_sessions
      WHERE user_id = $1 AND NOT revoked AND expires_at > now() AND session_id > $2
      ORDER BY session_id LIMIT $3`,
    [userId, page.cursor ?? FIRST_USER, page.limit + 1],
  );
  const { rows: sessions, nextCursor } = toPage(rows, page.limit, (last) => last.sessionId);
  return { sessions, nextCursor };
}
