/** Test helpers of the timeline read model (its tables are named only in this folder); not built into dist. */
import type { Sql } from '../sql.js';

/**
 * Changes a message's text behind the projection's back: what a bug or a hand edit would
 * leave, for the replay-determinism check to find.
 */
export async function alterMessageText(db: Sql, messageId: string, text: string): Promise<void> {
  await db.query('UPDATE rm_timeline_v1_messages SET text = $2 WHERE message_id = $1', [messageId, text]);
}

/** The messages table's name, for tests that look for it in a report (the replay check's). */
export const TIMELINE_MESSAGES_TABLE = 'rm_timeline_v1_messages';
