/**
 * membership.v1's statements as main had them before ADR 036 (7d1edc6), for
 * `bench:biggroup`'s before/after on the same database only: `memberCount` by counting the
 * group's member rows, and an inbox page by joining and sorting all of the user's
 * conversations. Nothing in the app runs them.
 */
export const MAIN_MEMBER_COUNT = `SELECT (SELECT count(*) FROM rm_membership_v1_members m
  WHERE m.conversation_id = $1 AND m.left_seq IS NULL)::int AS "memberCount"
  FROM rm_membership_v1_conversations WHERE conversation_id = $1`;
export const MAIN_INBOX_PAGE = `SELECT c.conversation_id, c.kind, c.name, m.role, c.dissolved, c.last_seq::int AS last_seq,
    m.muted AND (m.muted_until IS NULL OR m.muted_until > now()) AS muted,
    c.message_count::int AS message_count, c.last_activity_at, c.last_message_id, c.last_sender_id, c.last_preview,
    (extract(epoch FROM c.last_activity_at) * 1000000)::bigint::text AS activity_micros
  FROM rm_membership_v1_members m JOIN rm_membership_v1_conversations c USING (conversation_id)
  WHERE m.user_id = $1 AND m.left_seq IS NULL
  ORDER BY c.last_activity_at DESC, c.conversation_id LIMIT $2`;
