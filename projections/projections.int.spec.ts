/**
 * Every read model is idempotent: applying an event a second time (a redelivered batch)
 * changes nothing, and a rebuild gives byte-identical rows.
 */
import { migrateDatabase } from '@herald/database';
import { parseCheckpoint, type RecordedEvent } from '@herald/event-store';
import type { CatalogueEvent } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { freshDatabase } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  inboxProjection,
  INBOX_MIGRATIONS,
  membershipProjection,
  MEMBERSHIP_MIGRATIONS,
  timelineProjection,
  TIMELINE_MIGRATIONS,
} from './index.js';

const [C, OWNER, BOB, CY] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
const [M1, M2] = [randomUUID(), randomUUID()];
const none = { userIds: [], all: false };

const history: { stream: string; event: CatalogueEvent }[] = [
  {
    stream: `conversation-${C}`,
    event: { type: 'GroupCreated', data: { conversationId: C, ownerId: OWNER, name: 'g', memberIds: [BOB] } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MemberJoined', data: { conversationId: C, userId: CY, via: 'link' } },
  },
  {
    stream: `conversation-${C}`,
    event: {
      type: 'MessageSent',
      data: {
        conversationId: C,
        messageId: M1,
        senderId: OWNER,
        text: 'one',
        mentions: { userIds: [BOB], all: false },
        attachments: [],
      },
    },
  },
  {
    stream: `conversation-${C}`,
    event: {
      type: 'MessageSent',
      data: {
        conversationId: C,
        messageId: M2,
        senderId: BOB,
        text: 'two',
        replyToMessageId: M1,
        mentions: { userIds: [], all: true },
        attachments: [],
      },
    },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: CY, emoji: '🎉' } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'one!', mentions: none } },
  },
  {
    stream: `receipts-${CY}`,
    event: { type: 'ConversationRead', data: { userId: CY, conversationId: C, upToSeq: 2 } },
  },
  { stream: `conversation-${C}`, event: { type: 'MemberLeft', data: { conversationId: C, userId: CY } } },
  {
    stream: `conversation-${C}`,
    event: { type: 'MessageDeleted', data: { conversationId: C, messageId: M2, deletedBy: BOB } },
  },
  { stream: `conversation-${C}`, event: { type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } } },
];

function recorded(): RecordedEvent[] {
  const revisions = new Map<string, number>();
  return history.map(({ stream, event }, i) => {
    const revision = (revisions.get(stream) ?? -1) + 1;
    revisions.set(stream, revision);
    return {
      eventId: randomUUID(),
      type: event.type,
      schemaVersion: 1,
      data: event.data,
      metadata: {
        actorId: OWNER,
        correlationId: 'c',
        causationId: 'c',
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      },
      streamId: stream,
      streamRevision: revision,
      globalPosition: parseCheckpoint(`${String(i).padStart(16, '0')}-0000000000000000`),
      recordedAt: new Date(0),
    };
  });
}

const TABLES = [
  'rm_conversations',
  'rm_members',
  'rm_messages',
  'rm_reactions',
  'rm_inbox_conversations',
  'rm_inbox_messages',
  'rm_inbox_members',
  'rm_inbox_mentions',
];
const projections = [membershipProjection(), timelineProjection(), inboxProjection()];

async function dump(db: DataSource): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const table of TABLES) out[table] = await db.query(`SELECT * FROM ${table} ORDER BY 1, 2, 3`);
  return JSON.stringify(out);
}

async function apply(db: DataSource, events: RecordedEvent[]): Promise<void> {
  for (const projection of projections) {
    const mine = events.filter(
      (e) =>
        (projection.filter?.streamPrefixes ?? ['']).some((p) => e.streamId.startsWith(p)) &&
        (!projection.filter?.eventTypes || projection.filter.eventTypes.includes(e.type)),
    );
    await db.transaction((manager) => projection.apply(mine, manager));
  }
}

let databases: DataSource[] = [];
async function database(): Promise<DataSource> {
  const url = await freshDatabase();
  await migrateDatabase(url, [
    ...PROJECTION_RUNTIME_MIGRATIONS,
    ...MEMBERSHIP_MIGRATIONS,
    ...TIMELINE_MIGRATIONS,
    ...INBOX_MIGRATIONS,
  ]);
  const db = await createReadModelDataSource({ url, poolSize: 2 }).initialize();
  databases.push(db);
  return db;
}

beforeAll(() => {
  databases = [];
});
afterAll(async () => {
  for (const db of databases) await db.destroy();
});

describe('read models', () => {
  it('applying every event twice, or the whole history twice, changes nothing; a rebuild is identical', async () => {
    const events = recorded();
    const once = await database();
    await apply(once, events);
    const expected = await dump(once);
    await apply(once, events);
    expect(await dump(once)).toBe(expected);

    const twiceEach = await database();
    for (const event of events) {
      await apply(twiceEach, [event]);
      await apply(twiceEach, [event]);
    }
    expect(await dump(twiceEach)).toBe(expected);

    const [row] = await once.query<{ name: string; message_count: string }[]>(
      'SELECT name, message_count FROM rm_conversations',
    );
    expect(row).toMatchObject({ name: 'renamed', message_count: '2' });
    const messages = await once.query<{ text: string; deleted: boolean; reply_count: number }[]>(
      'SELECT text, deleted, reply_count FROM rm_messages ORDER BY seq',
    );
    // The deleted reply no longer counts in its thread.
    expect(messages).toEqual([
      { text: 'one!', deleted: false, reply_count: 0 },
      { text: '', deleted: true, reply_count: 0 },
    ]);
    // The edit took bob's mention away, the deletion the @all: no mention is left. The
    // owner read up to their own message; the one after it is deleted: nothing unread.
    expect(await once.query('SELECT * FROM rm_inbox_mentions')).toEqual([]);
    const unread = await once.query<{ user_id: string; unread: number }[]>(
      `SELECT i.user_id, (ic.message_count - i.read_count
                 - (SELECT count(*) FROM rm_inbox_messages d
                     WHERE d.conversation_id = i.conversation_id AND d.deleted AND d.seq > i.read_seq))::int AS unread
         FROM rm_inbox_members i JOIN rm_inbox_conversations ic USING (conversation_id) WHERE i.left_seq IS NULL`,
    );
    expect(unread.map((r) => r.unread)).toEqual([0, 0]);
  });
});
