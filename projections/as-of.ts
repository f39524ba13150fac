/**
 * A conversation as it was at a point of its stream, for auditors: its events up to that
 * point are applied by the very projections that serve the live reads (membership.v1,
 * moderation.v1 and timeline.v1) into scratch copies of their tables, then read by the very queries the live
 * API answers from (conversation details, members, a page of messages). So the answer is
 * what those reads answered once the read models had applied that much of the stream.
 *
 * The copies are temporary tables of the same names, in the transaction's own session:
 * PostgreSQL looks up temporary tables first, so the projections' and queries' SQL (which
 * never names a schema) reaches them, and the transaction is rolled back at the end, so
 * nothing of it stays and the serving tables are never touched.
 */
import type { RecordedEvent } from '@herald/event-store';
import type { DataSource, EntityManager } from 'typeorm';
import { z } from 'zod';
import type { ConversationView, MemberView } from './membership/membership.handlers.js';
import { membership } from './membership/index.js';
import { conversationDetails, currentMembers, type Member } from './membership/membership.queries.js';
import { moderation } from './moderation/index.js';
import { moderationFor, silencedUntil } from './moderation/moderation.queries.js';
import { tablePrefix, type ReadModel } from './read-model.js';
import { select } from './sql.js';
import { timeline } from './timeline/index.js';
import { timelinePage, type TimelinePageQuery, type TimelineMessage } from './timeline/timeline.queries.js';

export interface ConversationAsOf {
  /**
   * What GET /conversations/:id answered then; null when the conversation did not exist yet.
   * `silencedUntil` (the caller's own silence on the live route) is null: this view is no
   * member's own; members' silences are in the stream.
   */
  readonly conversation: ConversationView | null;
  /** Every member then (GET /conversations/:id/members, all pages), by user id, with their silence then. */
  readonly members: MemberView[];
  /** A page of messages as GET /conversations/:id/messages answered a member then. */
  readonly messages: TimelineMessage[];
  readonly nextCursor: number | null;
}

/** The read models whose projections and queries an as-of read runs. */
const FOLDED: readonly ReadModel[] = [membership, moderation, timeline];

/** A user id no member has: the moderation read as no member meets it. */
const NOBODY = '00000000-0000-0000-0000-000000000000';

/** Members read per statement while collecting them all. */
const MEMBERS_PAGE = 1_000;

/**
 * `events`: the conversation's stream from its start up to the point, in order. `page`: the
 * messages page, as the live route takes it.
 */
export async function conversationAsOf(
  dataSource: DataSource,
  conversationId: string,
  events: readonly RecordedEvent[],
  page: Omit<TimelinePageQuery, 'asOf'>,
): Promise<ConversationAsOf> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    const m = runner.manager;
    for (const model of FOLDED) {
      await scratchTables(m, model);
      const projection = model.projection();
      const types = projection.filter?.eventTypes;
      const applied = types ? events.filter((e) => types.includes(e.type)) : events;
      if (applied.length > 0) await projection.apply(applied, m);
    }
    // Silences end by the clock: as of the point, its time is the clock.
    const at = events.at(-1)?.recordedAt ?? new Date();
    const details = await conversationDetails(m, conversationId);
    const conversation = details && {
      ...details,
      announcementOnly: (await moderationFor(m, conversationId, NOBODY, at)).announcementOnly,
      silencedUntil: null,
    };
    const members: Member[] = [];
    let cursor: string | undefined;
    do {
      const found = await currentMembers(m, conversationId, { ...(cursor ? { cursor } : {}), limit: MEMBERS_PAGE });
      members.push(...found.members);
      cursor = found.nextCursor ?? undefined;
    } while (cursor !== undefined);
    const silenced = await silencedUntil(
      m,
      conversationId,
      members.map((member) => member.userId),
      at,
    );
    const { messages, nextCursor } = await timelinePage(m, conversationId, page);
    return {
      conversation,
      members: members.map((member) => ({ ...member, silencedUntil: silenced.get(member.userId) ?? null })),
      messages,
      nextCursor,
    };
  } finally {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    await runner.release();
  }
}

/** Empty temporary copies (indexes and defaults included) of a read model's tables, dropped with the transaction. */
async function scratchTables(m: EntityManager, model: ReadModel): Promise<void> {
  const prefix = tablePrefix(model);
  const tables = await select(
    m,
    z.object({ schema: z.string(), name: z.string() }),
    `SELECT schemaname AS schema, tablename AS name FROM pg_tables
      WHERE schemaname = current_schema() AND left(tablename, length($1)) = $1`,
    [prefix],
  );
  for (const { schema, name } of tables) {
    const quoted = (id: string) => `"${id.replace(/"/g, '""')}"`;
    await m.query(
      `CREATE TEMP TABLE ${quoted(name)} (LIKE ${quoted(schema)}.${quoted(name)} INCLUDING ALL) ON COMMIT DROP`,
      [],
    );
  }
}
