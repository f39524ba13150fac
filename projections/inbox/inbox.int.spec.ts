/**
 * inbox.v1, given-when-then against PostgreSQL: given a conversation's events, when more
 * are applied, then the unread and mention counts and the markers read so, again after
 * the events are delivered twice.
 */
import { migrateDatabase } from '@herald/database';
import { streamIdOf, type EventIn } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { freshDatabase, projectionSpec, type InStream } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inbox } from './index.js';
import { INBOX_MIGRATIONS } from './inbox.migrations.js';
import { markers, unreadCounts } from './inbox.queries.js';

const spec = projectionSpec([inbox]);
const none = { userIds: [], all: false };

/** A group of fresh users: the owner and two members. */
function group() {
  const [c, owner, bob, cy] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  const created = inC({
    type: 'GroupCreated',
    data: { conversationId: c, ownerId: owner, name: 'g', memberIds: [bob, cy] },
  });
  const sent = (messageId: string, senderId: string, mentions: { userIds: string[]; all: boolean } = none) =>
    inC({
      type: 'MessageSent',
      data: { conversationId: c, messageId, senderId, text: 'x', mentions, attachments: [] },
    });
  const read = (userId: string, upToSeq: number): InStream => ({
    stream: streamIdOf('receipts', userId),
    event: { type: 'ConversationRead', data: { userId, conversationId: c, upToSeq } },
  });
  return { c, owner, bob, cy, inC, created, sent, read };
}

describe('inbox.v1', () => {
  it('messages are unread for the other members and read for their sender', async () => {
    const g = group();
    await spec
      .given(g.created)
      .when(g.sent(randomUUID(), g.owner), g.sent(randomUUID(), g.bob))
      .then(async (db) => {
        expect((await unreadCounts(db, g.owner, [g.c])).get(g.c)).toEqual({
          unreadCount: 1,
          mentionCount: 0,
          readSeq: 1,
        });
        expect((await unreadCounts(db, g.bob, [g.c])).get(g.c)).toEqual({
          unreadCount: 0,
          mentionCount: 0,
          readSeq: 2,
        });
        expect((await unreadCounts(db, g.cy, [g.c])).get(g.c)).toEqual({ unreadCount: 2, mentionCount: 0, readSeq: 0 });
      });
  });

  it('reading up to a seq leaves unread only what came after it', async () => {
    const g = group();
    await spec
      .given(g.created, g.sent(randomUUID(), g.owner), g.sent(randomUUID(), g.owner))
      .when(g.read(g.cy, 1))
      .then(async (db) => {
        expect((await unreadCounts(db, g.cy, [g.c])).get(g.c)).toMatchObject({ unreadCount: 1, readSeq: 1 });
      });
  });

  it('a mention by name or @all counts for whom it names until they read it, never for the sender', async () => {
    const g = group();
    await spec
      .given(g.created)
      .when(
        g.sent(randomUUID(), g.owner, { userIds: [g.cy, g.owner], all: false }),
        g.sent(randomUUID(), g.bob, { userIds: [], all: true }),
      )
      .then(async (db) => {
        const mentions = async (user: string) => (await unreadCounts(db, user, [g.c])).get(g.c)?.mentionCount;
        // Cy is named, then everyone is; the owner does not count their own naming of themselves.
        expect(await mentions(g.cy)).toBe(2);
        expect(await mentions(g.owner)).toBe(1);
        // Bob's own send read the conversation up to it.
        expect(await mentions(g.bob)).toBe(0);
      });
  });

  it('an edit that drops a mention, and the deletion of an @all message, leave no mention', async () => {
    const g = group();
    const [m1, m2] = [randomUUID(), randomUUID()];
    await spec
      .given(
        g.created,
        g.sent(m1, g.owner, { userIds: [g.bob], all: false }),
        g.sent(m2, g.bob, { userIds: [], all: true }),
      )
      .when(
        g.inC({ type: 'MessageEdited', data: { conversationId: g.c, messageId: m1, text: 'one!', mentions: none } }),
        g.inC({ type: 'MessageDeleted', data: { conversationId: g.c, messageId: m2, deletedBy: g.bob } }),
      )
      .then(async (db) => {
        for (const user of [g.owner, g.bob, g.cy]) {
          expect((await unreadCounts(db, user, [g.c])).get(g.c)?.mentionCount).toBe(0);
        }
      });
  });

  it('a deleted message after the read marker is not unread, and the sender has read up to their own message', async () => {
    const g = group();
    const [m1, m2] = [randomUUID(), randomUUID()];
    await spec
      .given(g.created, g.sent(m1, g.owner), g.sent(m2, g.bob))
      .when(g.inC({ type: 'MessageDeleted', data: { conversationId: g.c, messageId: m2, deletedBy: g.bob } }))
      .then(async (db) => {
        expect((await unreadCounts(db, g.owner, [g.c])).get(g.c)?.unreadCount).toBe(0);
        expect((await unreadCounts(db, g.cy, [g.c])).get(g.c)?.unreadCount).toBe(1);
      });
  });

  it('whatever was said before someone joined counts as read for them', async () => {
    const g = group();
    const dave = randomUUID();
    await spec
      .given(g.created, g.sent(randomUUID(), g.owner))
      .when(g.inC({ type: 'MemberJoined', data: { conversationId: g.c, userId: dave, via: 'link' } }))
      .then(async (db) => {
        expect((await unreadCounts(db, dave, [g.c])).get(g.c)).toEqual({ unreadCount: 0, mentionCount: 0, readSeq: 2 });
      });
  });

  it('delivery and read receipts move the member’s markers, only forward', async () => {
    const g = group();
    await spec
      .given(g.created, g.sent(randomUUID(), g.owner), g.sent(randomUUID(), g.owner), g.sent(randomUUID(), g.owner))
      .when(
        {
          stream: streamIdOf('receipts', g.bob),
          event: { type: 'MessagesDelivered', data: { userId: g.bob, conversationId: g.c, upToSeq: 3 } },
        },
        g.read(g.bob, 2),
        g.read(g.bob, 1),
      )
      .then(async (db) => {
        expect((await markers(db, g.c, [g.bob, g.cy])).get(g.bob)).toEqual({ readSeq: 2, deliveredSeq: 3 });
      });
  });

  it('a conversation the inbox does not know reads as nothing unread', async () => {
    const db = await spec.database();
    const unknown = randomUUID();
    expect((await unreadCounts(db, randomUUID(), [unknown])).get(unknown)).toEqual({
      unreadCount: 0,
      mentionCount: 0,
      readSeq: -1,
    });
  });

  it('a database from before the versioned tables keeps its rows: the tables are renamed, not rebuilt', async () => {
    const url = await freshDatabase();
    const before = INBOX_MIGRATIONS.filter((m) => m.id !== 'inbox-003-versioned-tables');
    expect(before).toHaveLength(INBOX_MIGRATIONS.length - 1);
    await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...before]);
    const db = await createReadModelDataSource({ url, poolSize: 1 }).initialize();
    try {
      const [c, user] = [randomUUID(), randomUUID()];
      await db.query(
        'INSERT INTO rm_inbox_conversations (conversation_id, message_count, last_seq) VALUES ($1, 5, 5)',
        [c],
      );
      await db.query(
        'INSERT INTO rm_inbox_members (user_id, conversation_id, read_seq, read_count) VALUES ($1, $2, 2, 2)',
        [user, c],
      );
      await db.query(`INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ('inbox.v1', 'kept')`);
      await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...INBOX_MIGRATIONS]);
      expect((await unreadCounts(db, user, [c])).get(c)).toEqual({ unreadCount: 3, mentionCount: 0, readSeq: 2 });
      expect(await db.query('SELECT checkpoint FROM herald_projection_checkpoints')).toEqual([{ checkpoint: 'kept' }]);
    } finally {
      await db.destroy();
    }
  });
});
