/**
 * search.v1 with membership.v1, given-when-then against PostgreSQL: sends index, edits
 * re-index, deletions remove, reactions and receipts change nothing, a dissolved group
 * stays findable, a member who left finds the conversation as it read at their leaving;
 * each again after the events are delivered twice. Also: the extension on a fresh
 * database, and the substrings pg_trgm finds.
 */
import { streamIdOf, type EventIn } from '@herald/events';
import { projectionSpec, type InStream } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { membership } from '../membership/index.js';
import { readableConversations } from '../membership/membership.queries.js';
import { search } from './index.js';
import { parseQuery } from './search.analysis.js';
import { PostgresSearchIndex } from './search.postgres.js';

const spec = projectionSpec([membership, search]);
const none = { userIds: [], all: false };

function group() {
  const [c, ann, bob] = [randomUUID(), randomUUID(), randomUUID()];
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  const created = inC({ type: 'GroupCreated', data: { conversationId: c, ownerId: ann, name: 'g', memberIds: [bob] } });
  const sent = (messageId: string, text: string) =>
    inC({
      type: 'MessageSent',
      data: { conversationId: c, messageId, senderId: ann, text, mentions: none, attachments: [] },
    });
  return { c, ann, bob, inC, created, sent };
}

/** The texts `userId` finds for `q`, as GET /search would (their spans from membership.v1). */
async function found(db: DataSource, userId: string, q: string): Promise<string[]> {
  const scopes = await readableConversations(db, userId);
  const page = await new PostgresSearchIndex(db).search({ groups: parseQuery(q), scopes, limit: 50 });
  return page.hits.map((h) => h.snippet.replace(/<\/?mark>/g, '')).sort();
}

describe('search.v1', () => {
  it('sends index; reactions and receipts change nothing', async () => {
    const g = group();
    const m = randomUUID();
    await spec
      .given(g.created, g.sent(m, 'the quarterly report is ready'))
      .when(g.inC({ type: 'ReactionAdded', data: { conversationId: g.c, messageId: m, userId: g.bob, emoji: '👍' } }), {
        stream: streamIdOf('receipts', g.bob),
        event: { type: 'ConversationRead', data: { userId: g.bob, conversationId: g.c, upToSeq: 1 } },
      })
      .then(async (db) => {
        expect(await found(db, g.bob, 'quarterly')).toEqual(['the quarterly report is ready']);
        expect(await found(db, g.bob, 'quart repo')).toEqual(['the quarterly report is ready']);
        expect(await found(db, g.bob, 'reports')).toEqual(['the quarterly report is ready']);
        expect(await found(db, g.bob, 'uarterl')).toEqual(['the quarterly report is ready']);
        expect(await found(db, randomUUID(), 'quarterly')).toEqual([]);
      });
  });

  it('edits re-index and deletions remove; a dissolved group stays findable by its members', async () => {
    const g = group();
    const [m1, m2] = [randomUUID(), randomUUID()];
    await spec
      .given(g.created, g.sent(m1, 'draft text'), g.sent(m2, 'to be removed'))
      .when(
        g.inC({
          type: 'MessageEdited',
          data: { conversationId: g.c, messageId: m1, text: 'final text', mentions: none },
        }),
        g.inC({ type: 'MessageDeleted', data: { conversationId: g.c, messageId: m2, deletedBy: g.ann } }),
        g.inC({ type: 'GroupDissolved', data: { conversationId: g.c, dissolvedBy: g.ann } }),
      )
      .then(async (db) => {
        expect(await found(db, g.bob, 'text')).toEqual(['final text']);
        expect(await found(db, g.bob, 'draft')).toEqual([]);
        expect(await found(db, g.bob, 'removed')).toEqual([]);
      });
  });

  it('a member who left finds the conversation as it read at their leaving, and one who joins finds its history', async () => {
    const g = group();
    const [m1, m2, dan] = [randomUUID(), randomUUID(), randomUUID()];
    await spec
      .given(
        g.created,
        g.sent(m1, 'before leaving'),
        g.inC({ type: 'MemberLeft', data: { conversationId: g.c, userId: g.bob } }),
      )
      .when(
        g.inC({
          type: 'MessageEdited',
          data: { conversationId: g.c, messageId: m1, text: 'changed after', mentions: none },
        }),
        g.sent(m2, 'after leaving'),
        g.inC({ type: 'MemberJoined', data: { conversationId: g.c, userId: dan, via: 'invitation' } }),
      )
      .then(async (db) => {
        expect(await found(db, g.bob, 'leaving')).toEqual(['before leaving']);
        expect(await found(db, g.bob, 'changed')).toEqual([]);
        expect(await found(db, dan, 'leaving')).toEqual(['after leaving']);
        expect(await found(db, dan, 'changed')).toEqual(['changed after']);
        expect(await found(db, g.ann, 'after')).toEqual(['after leaving', 'changed after']);
      });
  });

  it('created pg_trgm on a fresh database, whose LC_CTYPE is C', async () => {
    const db = await spec.database();
    const rows: unknown = await db.query(
      "SELECT (SELECT count(*)::int FROM pg_extension WHERE extname = 'pg_trgm') AS trgm, (SELECT datctype FROM pg_database WHERE datname = current_database()) AS ctype",
    );
    expect(rows).toEqual([{ trgm: 1, ctype: 'C' }]);
  });
});
