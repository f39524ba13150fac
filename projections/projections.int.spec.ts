/**
 * Every read model of the registry is idempotent: applying an event a second time (a
 * redelivered batch) changes nothing, and a rebuild gives byte-identical rows, over a
 * history that touches every read model. What each read model answers is specified in its
 * own folder (`<name>/<name>.int.spec.ts`).
 */
import { migrateDatabase } from '@herald/database';
import { parseCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf, type CatalogueEvent } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, type Projection } from '@herald/projection-runtime';
import { freshDatabase } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tablePrefix, type ReadModel } from './read-model.js';
import { READ_MODELS, readModelMigrations } from './registry.js';

const [C, OWNER, BOB, CY, DAVE] = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
const [M1, M2, M3] = [randomUUID(), randomUUID(), randomUUID()];
/** The direct conversation of the owner and cy: its id is derived from the pair, any uuid does here. */
const D = randomUUID();
const pair = [OWNER, CY].sort() as [string, string];
const none = { userIds: [], all: false };

const history: { stream: string; event: CatalogueEvent }[] = [
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'GroupCreated', data: { conversationId: C, ownerId: OWNER, name: 'g', memberIds: [BOB] } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MemberJoined', data: { conversationId: C, userId: CY, via: 'link' } },
  },
  {
    stream: streamIdOf('conversation', C),
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
    stream: streamIdOf('conversation', C),
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
    stream: streamIdOf('conversation', C),
    event: { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: CY, emoji: '🎉' } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'one!', mentions: none } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'ReactionRemoved', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  },
  {
    stream: streamIdOf('receipts', CY),
    event: { type: 'ConversationRead', data: { userId: CY, conversationId: C, upToSeq: 2 } },
  },
  {
    stream: streamIdOf('receipts', BOB),
    event: { type: 'MessagesDelivered', data: { userId: BOB, conversationId: C, upToSeq: 3 } },
  },
  {
    stream: streamIdOf('receipts', BOB),
    event: { type: 'ConversationMuteChanged', data: { conversationId: C, userId: BOB, muted: true, until: null } },
  },
  { stream: streamIdOf('conversation', C), event: { type: 'MemberLeft', data: { conversationId: C, userId: CY } } },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MessageDeleted', data: { conversationId: C, messageId: M2, deletedBy: BOB } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'GroupRenamed', data: { conversationId: C, name: 'renamed' } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'GroupDetailsChanged', data: { conversationId: C, description: 'd', announcement: 'a' } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MemberInvited', data: { conversationId: C, userId: DAVE, invitedBy: OWNER } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MemberJoined', data: { conversationId: C, userId: DAVE, via: 'invitation' } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MemberRoleChanged', data: { conversationId: C, userId: DAVE, role: 'admin', changedBy: OWNER } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'MemberKicked', data: { conversationId: C, userId: BOB, kickedBy: DAVE } },
  },
  // Moderation: a setting, a silence set, replaced and lifted, a ban (of a member: the kick
  // after it) lifted, pins standing, unpinned and ended by a deletion.
  ...(
    [
      { type: 'GroupAnnouncementOnlyChanged', data: { conversationId: C, announcementOnly: true, changedBy: OWNER } },
      {
        type: 'MemberSilenced',
        data: { conversationId: C, userId: DAVE, until: '2026-02-01T00:00:00.000Z', silencedBy: OWNER },
      },
      {
        type: 'MemberSilenced',
        data: { conversationId: C, userId: DAVE, until: '2026-03-01T00:00:00.000Z', silencedBy: OWNER },
      },
      { type: 'MemberUnsilenced', data: { conversationId: C, userId: DAVE, unsilencedBy: OWNER } },
      { type: 'MemberBanned', data: { conversationId: C, userId: CY, bannedBy: DAVE } },
      { type: 'MemberBanned', data: { conversationId: C, userId: BOB, bannedBy: DAVE } },
      { type: 'MemberUnbanned', data: { conversationId: C, userId: CY, unbannedBy: OWNER } },
      { type: 'MessagePinned', data: { conversationId: C, messageId: M1, pinnedBy: OWNER } },
      { type: 'MessageUnpinned', data: { conversationId: C, messageId: M1, unpinnedBy: OWNER } },
      { type: 'MessagePinned', data: { conversationId: C, messageId: M1, pinnedBy: DAVE } },
    ] as const
  ).map((event) => ({ stream: streamIdOf('conversation', C), event })),
  {
    stream: streamIdOf('conversation', D),
    event: { type: 'DirectConversationStarted', data: { conversationId: D, memberIds: pair } },
  },
  {
    stream: streamIdOf('conversation', D),
    event: {
      type: 'MessageSent',
      data: { conversationId: D, messageId: M3, senderId: CY, text: 'hi', mentions: none, attachments: [] },
    },
  },
  {
    stream: streamIdOf('conversation', D),
    event: { type: 'MessagePinned', data: { conversationId: D, messageId: M3, pinnedBy: OWNER } },
  },
  {
    stream: streamIdOf('conversation', D),
    event: { type: 'MessageDeleted', data: { conversationId: D, messageId: M3, deletedBy: CY } },
  },
  {
    stream: streamIdOf('conversation', C),
    event: { type: 'GroupDissolved', data: { conversationId: C, dissolvedBy: OWNER } },
  },
  // The directory: users, profiles, blocks and contacts.
  ...[OWNER, CY].map((userId, i) => ({
    stream: streamIdOf('user', userId),
    event: {
      type: 'UserRegistered' as const,
      data: { userId, username: `user${i}`, displayName: `User ${i}` },
    },
  })),
  {
    stream: streamIdOf('user', CY),
    event: { type: 'ProfileUpdated', data: { userId: CY, displayName: 'Cy', statusText: 'busy' } },
  },
  { stream: streamIdOf('user', CY), event: { type: 'UserBlocked', data: { userId: CY, blockedUserId: BOB } } },
  { stream: streamIdOf('user', CY), event: { type: 'UserBlocked', data: { userId: CY, blockedUserId: DAVE } } },
  { stream: streamIdOf('user', CY), event: { type: 'UserUnblocked', data: { userId: CY, blockedUserId: DAVE } } },
  {
    stream: streamIdOf('contact', pair.join('-')),
    event: { type: 'ContactRequested', data: { requesterId: OWNER, recipientId: CY } },
  },
  {
    stream: streamIdOf('contact', pair.join('-')),
    event: { type: 'ContactRequestAccepted', data: { requesterId: OWNER, recipientId: CY } },
  },
  {
    stream: streamIdOf('contact', [OWNER, DAVE].sort().join('-')),
    event: { type: 'ContactRequested', data: { requesterId: DAVE, recipientId: OWNER } },
  },
  {
    stream: streamIdOf('contact', [OWNER, DAVE].sort().join('-')),
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

/** Every row of a read model's tables, in a stable order: what a rebuild must reproduce byte for byte. */
async function dump(db: DataSource, readModel: ReadModel): Promise<string> {
  const tables = await db.query<{ table_name: string }[]>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND starts_with(table_name, $1) ORDER BY table_name`,
    [tablePrefix(readModel)],
  );
  expect(tables.length).toBeGreaterThan(0);
  const out: Record<string, unknown> = {};
  for (const { table_name } of tables)
    out[table_name] = await db.query(`SELECT * FROM ${table_name} t ORDER BY t::text`);
  return JSON.stringify(out);
}

async function apply(db: DataSource, projection: Projection, events: RecordedEvent[]): Promise<void> {
  const mine = events.filter(
    (e) =>
      (projection.filter?.streamPrefixes ?? ['']).some((p) => e.streamId.startsWith(p)) &&
      (!projection.filter?.eventTypes || projection.filter.eventTypes.includes(e.type)),
  );
  await db.transaction((manager) => projection.apply(mine, manager));
}

let databases: DataSource[] = [];
async function database(): Promise<DataSource> {
  const url = await freshDatabase();
  await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
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

describe('every read model', () => {
  it.each(READ_MODELS.map((readModel) => [readModel.name, readModel] as const))(
    '%s: applying every event twice, or the whole history twice, changes nothing; a rebuild is identical',
    async (_, readModel) => {
      const projection = readModel.projection();
      const events = recorded();
      const once = await database();
      await apply(once, projection, events);
      const expected = await dump(once, readModel);
      await apply(once, projection, events);
      expect(await dump(once, readModel)).toBe(expected);

      const twiceEach = await database();
      for (const event of events) {
        await apply(twiceEach, projection, [event]);
        await apply(twiceEach, projection, [event]);
      }
      expect(await dump(twiceEach, readModel)).toBe(expected);
    },
  );

  it("every read-model table, an older data directory's included, ends under its read model's versioned name", async () => {
    const db = await database();
    const tables = await db.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND starts_with(table_name, 'rm_') ORDER BY table_name`,
    );
    const prefixes = READ_MODELS.map(tablePrefix);
    expect(tables.length).toBeGreaterThan(0);
    expect(tables.map((t) => t.table_name).filter((name) => !prefixes.some((p) => name.startsWith(p)))).toEqual([]);
  });

  it('names its tables with its name and version, and the registry lists each once', () => {
    const names = READ_MODELS.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const readModel of READ_MODELS) {
      expect(readModel.projection().name).toBe(readModel.name);
      expect(tablePrefix(readModel)).toMatch(/^rm_[a-z]+_v[0-9]+_$/);
    }
  });
});
