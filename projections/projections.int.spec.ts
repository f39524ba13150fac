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
  directoryProjection,
  DIRECTORY_MIGRATIONS,
  inboxProjection,
  INBOX_MIGRATIONS,
  membershipProjection,
  MEMBERSHIP_MIGRATIONS,
  timelineProjection,
  TIMELINE_MIGRATIONS,
} from './index.js';

const [C, OWNER, BOB, CY, DAVE] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
const [M1, M2, M3] = [randomUUID(), randomUUID(), randomUUID()];
/** The direct conversation of the owner and cy: its id is derived from the pair, any uuid does here. */
const D = randomUUID();
const pair = [OWNER, CY].sort() as [string, string];
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
    stream: `conversation-${C}`,
    event: { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'ReactionRemoved', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  },
  {
    stream: `receipts-${CY}`,
    event: { type: 'ConversationRead', data: { userId: CY, conversationId: C, upToSeq: 2 } },
  },
  {
    stream: `receipts-${BOB}`,
    event: { type: 'MessagesDelivered', data: { userId: BOB, conversationId: C, upToSeq: 3 } },
  },
  {
    stream: `receipts-${BOB}`,
    event: { type: 'ConversationMuteChanged', data: { conversationId: C, userId: BOB, muted: true, until: null } },
  },
  { stream: `conversation-${C}`, event: { type: 'MemberLeft', data: { conversationId: C, userId: CY } } },
  {
    stream: `conversation-${C}`,
    event: { type: 'MessageDeleted', data: { conversationId: C, messageId: M2, deletedBy: BOB } },
  },
  { stream: `conversation-${C}`, event: { type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } } },
  {
    stream: `conversation-${C}`,
    event: { type: 'GroupDetailsChanged', data: { conversationId: C, description: 'd', announcement: 'a' } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MemberInvited', data: { conversationId: C, userId: DAVE, invitedBy: OWNER } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MemberJoined', data: { conversationId: C, userId: DAVE, via: 'invitation' } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MemberRoleChanged', data: { conversationId: C, userId: DAVE, role: 'admin', changedBy: OWNER } },
  },
  {
    stream: `conversation-${C}`,
    event: { type: 'MemberKicked', data: { conversationId: C, userId: BOB, kickedBy: DAVE } },
  },
  {
    stream: `conversation-${D}`,
    event: { type: 'DirectConversationStarted', data: { conversationId: D, memberIds: pair } },
  },
  {
    stream: `conversation-${D}`,
    event: {
      type: 'MessageSent',
      data: { conversationId: D, messageId: M3, senderId: CY, text: 'hi', mentions: none, attachments: [] },
    },
  },
  { stream: `conversation-${C}`, event: { type: 'GroupDissolved', data: { conversationId: C, dissolvedBy: OWNER } } },
  // The directory: users, profiles, blocks and contacts.
  ...[OWNER, CY].map((userId, i) => ({
    stream: `user-${userId}`,
    event: {
      type: 'UserRegistered' as const,
      data: { userId, username: `user${i}`, displayName: `User ${i}` },
    },
  })),
  {
    stream: `user-${CY}`,
    event: { type: 'ProfileUpdated', data: { userId: CY, displayName: 'Cy', statusText: 'busy' } },
  },
  { stream: `user-${CY}`, event: { type: 'UserBlocked', data: { userId: CY, blockedUserId: BOB } } },
  { stream: `user-${CY}`, event: { type: 'UserBlocked', data: { userId: CY, blockedUserId: DAVE } } },
  { stream: `user-${CY}`, event: { type: 'UserUnblocked', data: { userId: CY, blockedUserId: DAVE } } },
  {
    stream: `contact-${pair.join('-')}`,
    event: { type: 'ContactRequested', data: { requesterId: OWNER, recipientId: CY } },
  },
  {
    stream: `contact-${pair.join('-')}`,
    event: { type: 'ContactRequestAccepted', data: { requesterId: OWNER, recipientId: CY } },
  },
  {
    stream: `contact-${[OWNER, DAVE].sort().join('-')}`,
    event: { type: 'ContactRequested', data: { requesterId: DAVE, recipientId: OWNER } },
  },
  {
    stream: `contact-${[OWNER, DAVE].sort().join('-')}`,
    event: { type: 'ContactRemoved', data: { userId: OWNER, contactId: DAVE } },
  },
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
  'rm_message_versions',
  'rm_reply_counts',
  'rm_inbox_conversations',
  'rm_inbox_messages',
  'rm_inbox_members',
  'rm_inbox_mentions',
  'rm_users',
  'rm_contacts',
  'rm_blocks',
];
const projections = [membershipProjection(), timelineProjection(), inboxProjection(), directoryProjection()];

async function dump(db: DataSource): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const table of TABLES) out[table] = await db.query(`SELECT * FROM ${table} t ORDER BY t::text`);
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
    ...DIRECTORY_MIGRATIONS,
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

    const [row] = await once.query<Record<string, unknown>[]>(
      'SELECT name, description, announcement, dissolved, message_count FROM rm_conversations WHERE conversation_id = $1',
      [C],
    );
    expect(row).toEqual({ name: 'renamed', description: 'd', announcement: 'a', dissolved: true, message_count: '2' });
    const members = await once.query<Record<string, unknown>[]>(
      `SELECT user_id, role, left_seq IS NOT NULL AS gone, muted FROM rm_members WHERE conversation_id = $1`,
      [C],
    );
    expect(new Map(members.map(({ user_id, ...rest }) => [user_id, rest]))).toEqual(
      new Map([
        [OWNER, { role: 'owner', gone: false, muted: false }],
        [BOB, { role: 'member', gone: true, muted: true }],
        [CY, { role: 'member', gone: true, muted: false }],
        [DAVE, { role: 'admin', gone: false, muted: false }],
      ]),
    );
    expect(await once.query('SELECT user_id, emoji FROM rm_reactions WHERE removed_seq IS NULL')).toEqual([
      { user_id: CY, emoji: '🎉' },
    ]);
    expect(
      await once.query(
        'SELECT delivered_seq::int AS d FROM rm_inbox_members WHERE user_id = $1 AND conversation_id = $2',
        [BOB, C],
      ),
    ).toEqual([{ d: 3 }]);
    expect(
      await once.query('SELECT conversation_id, kind FROM rm_conversations WHERE conversation_id = $1', [D]),
    ).toEqual([{ conversation_id: D, kind: 'direct' }]);
    expect(await once.query('SELECT user_id, display_name, status_text FROM rm_users ORDER BY username')).toEqual([
      { user_id: OWNER, display_name: 'User 0', status_text: null },
      { user_id: CY, display_name: 'Cy', status_text: 'busy' },
    ]);
    expect(await once.query('SELECT user_id, blocked_user_id FROM rm_blocks')).toEqual([
      { user_id: CY, blocked_user_id: BOB },
    ]);
    expect(
      await once.query('SELECT user_id, contact_id, status FROM rm_contacts ORDER BY user_id = $1 DESC', [OWNER]),
    ).toEqual([
      { user_id: OWNER, contact_id: CY, status: 'contacts' },
      { user_id: CY, contact_id: OWNER, status: 'contacts' },
    ]);
    const messages = await once.query<{ text: string; deleted: boolean; reply_count: number }[]>(
      'SELECT text, deleted, reply_count FROM rm_messages WHERE conversation_id = $1 ORDER BY seq',
      [C],
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
         FROM rm_inbox_members i JOIN rm_inbox_conversations ic USING (conversation_id)
        WHERE i.left_seq IS NULL AND i.conversation_id = $1`,
      [C],
    );
    expect(unread.map((r) => r.unread)).toEqual([0, 0]);
  });
});
