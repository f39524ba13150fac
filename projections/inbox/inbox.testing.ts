/** Test helpers of the inbox read model (its tables are named only in this folder); not built into dist. */
import { z } from 'zod';
import { select, type Sql } from '../sql.js';

/**
 * For tests of the write diffusion: per member of a conversation, the transaction that last
 * wrote their inbox row (xmin: a row whose xmin changed was written, however it was), and
 * how many mention rows the conversation has.
 */
export async function inboxWrites(
  db: Sql,
  conversationId: string,
): Promise<{ members: Map<string, string>; mentions: number }> {
  const members = await select(
    db,
    z.object({ user_id: z.string(), xmin: z.string() }),
    'SELECT user_id, xmin::text AS xmin FROM rm_inbox_v1_members WHERE conversation_id = $1',
    [conversationId],
  );
  const [mentions] = await select(
    db,
    z.object({ n: z.number() }),
    'SELECT count(*)::int AS n FROM rm_inbox_v1_mentions WHERE conversation_id = $1',
    [conversationId],
  );
  return { members: new Map(members.map((r) => [r.user_id, r.xmin])), mentions: mentions?.n ?? 0 };
}
