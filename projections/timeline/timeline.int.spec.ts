/**
 * The timeline as of a seq (ADR 008), given-when-then against PostgreSQL: given a
 * conversation's events, when applied, then a page as of each seq shows exactly the state
 * after that seq's event; applying events twice, or the whole history again, changes nothing.
 */
import { migrateDatabase } from '@herald/database';
import { parseCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf, type EventIn } from '@herald/events';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { freshDatabase, projectionSpec } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeline } from './index.js';
import { TIMELINE_MIGRATIONS } from './timeline.migrations.js';
import { timelineProjection } from './timeline.projection.js';
import { timelinePage, type TimelineMessage } from './timeline.queries.js';

type ConversationEvent = EventIn<'conversation'>;

const [C, ANN, BOB, CY] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
const [M1, M2, M3] = [randomUUID(), randomUUID(), randomUUID()];
const none = { userIds: [], all: false };
const file = { url: 'https://files.example/a.png', name: 'a.png', mimeType: 'image/png', sizeBytes: 10 };
const time = (seq: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString();

/** The conversation's events by seq (seq 0 is its creation, which the timeline does not read). */
const given: ConversationEvent[] = [
  { type: 'GroupCreated', data: { conversationId: C, ownerId: ANN, name: 'g', memberIds: [BOB, CY] } },
  {
    type: 'MessageSent',
    data: {
      conversationId: C,
      messageId: M1,
      senderId: ANN,
      text: 'one',
      mentions: { userIds: [BOB], all: false },
      attachments: [],
    },
  },
  {
    type: 'MessageSent',
    data: {
      conversationId: C,
      messageId: M2,
      senderId: BOB,
      text: 'two',
      replyToMessageId: M1,
      mentions: none,
      attachments: [file],
    },
  },
  { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'one!', mentions: none } },
  { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: CY, emoji: '🎉' } },
  { type: 'ReactionRemoved', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  { type: 'ReactionAdded', data: { conversationId: C, messageId: M2, userId: ANN, emoji: '👀' } },
  { type: 'MessageDeleted', data: { conversationId: C, messageId: M2, deletedBy: BOB } },
  { type: 'ReactionAdded', data: { conversationId: C, messageId: M1, userId: BOB, emoji: '👍' } },
  { type: 'MessageEdited', data: { conversationId: C, messageId: M1, text: 'one!!', mentions: none } },
  {
    type: 'MessageSent',
    data: {
      conversationId: C,
      messageId: M3,
      senderId: CY,
      text: 'three',
      replyToMessageId: M1,
      mentions: none,
      attachments: [],
    },
  },
  { type: 'MemberLeft', data: { conversationId: C, userId: CY } },
];

function recorded(): RecordedEvent[] {
  return given.map((event, seq) => ({
    eventId: randomUUID(),
    type: event.type,
    schemaVersion: 1,
    data: event.data,
    metadata: { actorId: ANN, correlationId: 'c', causationId: 'c', occurredAt: time(seq) },
    streamId: streamIdOf('conversation', C),
    streamRevision: seq,
    globalPosition: parseCheckpoint(`${String(seq).padStart(16, '0')}-0000000000000000`),
    recordedAt: new Date(0),
  }));
}

const projection = timelineProjection();
async function apply(db: DataSource, events: RecordedEvent[]): Promise<void> {
  const read = events.filter((e) => projection.filter?.eventTypes?.includes(e.type) ?? true);
  await db.transaction((manager) => projection.apply(read, manager));
}

const databases: DataSource[] = [];
async function database(): Promise<DataSource> {
  const url = await freshDatabase();
  await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...TIMELINE_MIGRATIONS]);
  const db = await createReadModelDataSource({ url, poolSize: 2 }).initialize();
  databases.push(db);
  return db;
}

/** Every message shown as of `asOf` (the current view without it), oldest first. */
async function all(db: DataSource, asOf?: number): Promise<TimelineMessage[]> {
  const page = await timelinePage(db, C, { after: -1, limit: 100, ...(asOf !== undefined ? { asOf } : {}) });
  return page.messages;
}

/** What a message shows as of a seq: the fields that change over time. */
const shown = (m: TimelineMessage | undefined) =>
  m && {
    text: m.text,
    editedAt: m.editedAt,
    deleted: m.deleted,
    reactions: m.reactions,
    replyCount: m.replyCount,
    mentions: m.mentions,
    attachments: m.attachments,
  };

async function dump(db: DataSource): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const table of [
    'rm_timeline_v1_messages',
    'rm_timeline_v1_message_versions',
    'rm_timeline_v1_reactions',
    'rm_timeline_v1_reply_counts',
  ]) {
    out[table] = await db.query(`SELECT * FROM ${table} t ORDER BY t::text`);
  }
  return JSON.stringify(out);
}

let db: DataSource;
beforeAll(async () => {
  db = await database();
  await apply(db, recorded());
});
afterAll(async () => {
  for (const each of databases) await each.destroy();
});

describe('the upgrade to the versioned timeline', () => {
  it('empties the timeline and restarts its checkpoint, so that it is rebuilt from the log with its history', async () => {
    const url = await freshDatabase();
    const [first, ...rest] = TIMELINE_MIGRATIONS;
    expect(rest.map((m) => m.id)).toEqual([
      'timeline-002-versions',
      'timeline-003-versioned-tables',
      'timeline-004-replies-index',
    ]);
    await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, first!]);
    const old = await createReadModelDataSource({ url, poolSize: 1 }).initialize();
    databases.push(old);
    await old.query(
      `INSERT INTO rm_messages (conversation_id, seq, message_id, sender_id, text, mentions, attachments, sent_at, updated_seq)
       VALUES ($1, 1, $2, $3, 'edited before', '{"userIds":[],"all":false}', '[]', now(), 2)`,
      [C, M1, ANN],
    );
    await old.query(`INSERT INTO rm_reactions (message_id, emoji, user_id) VALUES ($1, '👍', $2)`, [M1, BOB]);
    await old.query(
      `INSERT INTO herald_projection_checkpoints (name, checkpoint) VALUES ('timeline.v1', 'x'), ('inbox.v1', 'y')`,
    );

    await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...TIMELINE_MIGRATIONS]);
    expect(await old.query('SELECT count(*)::int AS n FROM rm_timeline_v1_messages')).toEqual([{ n: 0 }]);
    expect(await old.query('SELECT count(*)::int AS n FROM rm_timeline_v1_reactions')).toEqual([{ n: 0 }]);
    expect(await old.query('SELECT name FROM herald_projection_checkpoints')).toEqual([{ name: 'inbox.v1' }]);
    await apply(old, recorded());
    expect(await all(old, 3)).toEqual(await all(db, 3));
  });
});

describe('timeline as of a seq', () => {
  it('shows each message as it stood after the event at that seq', async () => {
    const at = async (seq: number) => {
      const messages = await all(db, seq);
      return { seqs: messages.map((m) => m.seq), m1: shown(messages[0]), m2: shown(messages[1]) };
    };
    // Before the first message: nothing.
    expect((await at(0)).seqs).toEqual([]);
    // As sent, with the reply counted and the reaction added at 3.
    expect(await at(3)).toEqual({
      seqs: [1, 2],
      m1: {
        text: 'one',
        editedAt: null,
        deleted: false,
        reactions: { '👍': [BOB] },
        replyCount: 1,
        mentions: { userIds: [BOB], all: false },
        attachments: [],
      },
      m2: {
        text: 'two',
        editedAt: null,
        deleted: false,
        reactions: {},
        replyCount: 0,
        mentions: none,
        attachments: [file],
      },
    });
    expect((await at(4)).m1).toMatchObject({ text: 'one!', editedAt: time(4), mentions: none });
    expect((await at(5)).m1?.reactions).toEqual({ '👍': [BOB], '🎉': [CY] });
    expect((await at(6)).m1?.reactions).toEqual({ '🎉': [CY] });
    expect((await at(7)).m2).toMatchObject({ deleted: false, text: 'two', reactions: { '👀': [ANN] } });
    // The deletion: its content, reactions and place in the thread gone from seq 8 on.
    expect(await at(8)).toMatchObject({
      m1: { replyCount: 0 },
      m2: { text: '', deleted: true, reactions: {}, attachments: [], editedAt: null },
    });
    expect((await at(9)).m1).toMatchObject({ text: 'one!', reactions: { '👍': [BOB], '🎉': [CY] } });
    expect((await at(10)).m1).toMatchObject({ text: 'one!!', editedAt: time(10) });
    expect(await at(11)).toMatchObject({ seqs: [1, 2, 11], m1: { replyCount: 1 } });
  });

  it('as of the last seq is the current view', async () => {
    expect(await all(db, given.length - 1)).toEqual(await all(db));
    expect(await all(db, 1000)).toEqual(await all(db));
  });

  it('pages by seq both ways as of a seq, and never past it', async () => {
    const back: number[] = [];
    let before: number | null = Number.MAX_SAFE_INTEGER;
    while (before !== null) {
      const page = await timelinePage(db, C, { before, limit: 1, asOf: 9 });
      back.push(...page.messages.map((m) => m.seq));
      before = page.nextCursor;
    }
    expect(back).toEqual([2, 1]);
    const page = await timelinePage(db, C, { after: 1, limit: 5, asOf: 3 });
    expect(page.messages.map((m) => [m.seq, m.text])).toEqual([[2, 'two']]);
    expect(page.nextCursor).toBeNull();
    // A page before a seq keeps the as-of view of each message.
    const older = await timelinePage(db, C, { before: 2, limit: 5, asOf: 3 });
    expect(older.messages.map((m) => m.text)).toEqual(['one']);
  });

  it('counts replies as of a seq when a run of sends holds several replies to one message', async () => {
    const other = await database();
    const D = randomUUID();
    const [P, R1, R2, R3] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const sent = (messageId: string, replyToMessageId?: string): ConversationEvent => ({
      type: 'MessageSent',
      data: {
        conversationId: D,
        messageId,
        senderId: ANN,
        text: 'x',
        mentions: none,
        attachments: [],
        ...(replyToMessageId ? { replyToMessageId } : {}),
      },
    });
    const events: ConversationEvent[] = [
      sent(P),
      sent(R1, P),
      sent(R2, P),
      { type: 'MessageDeleted', data: { conversationId: D, messageId: R1, deletedBy: ANN } },
      sent(R3, P),
    ];
    const batch = events.map((event, seq) => ({
      ...recorded()[0]!,
      type: event.type,
      data: event.data,
      streamId: streamIdOf('conversation', D),
      streamRevision: seq,
    }));
    // One batch: the first two replies reach the projection together.
    await apply(other, batch);
    const count = async (asOf?: number) =>
      (await timelinePage(other, D, { after: -1, limit: 1, ...(asOf !== undefined ? { asOf } : {}) })).messages[0]
        ?.replyCount;
    expect([await count(0), await count(1), await count(2), await count(3), await count(4), await count()]).toEqual([
      0, 1, 2, 1, 2, 2,
    ]);
  });

  it('applying every event twice, or the whole history again, changes nothing; a rebuild is identical', async () => {
    const events = recorded();
    const expected = await dump(db);
    const views = await Promise.all(given.map((_, seq) => all(db, seq)));

    await apply(db, events);
    expect(await dump(db)).toBe(expected);

    const twiceEach = await database();
    for (const event of events) {
      await apply(twiceEach, [event]);
      await apply(twiceEach, [event]);
    }
    expect(await dump(twiceEach)).toBe(expected);
    expect(await Promise.all(given.map((_, seq) => all(twiceEach, seq)))).toEqual(views);

    // One event at a time, each batch replayed with the events before it.
    const replayed = await database();
    for (let i = 0; i < events.length; i++) await apply(replayed, events.slice(0, i + 1));
    expect(await dump(replayed)).toBe(expected);
  });
});

describe('timeline now', () => {
  const spec = projectionSpec([timeline]);

  it('an edited message, a deleted reply and a removed reaction read as they stand now', async () => {
    const [c, ann, bob, cy] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const [m1, m2] = [randomUUID(), randomUUID()];
    const inC = (event: ConversationEvent) => ({ stream: streamIdOf('conversation', c), event });
    const sent = (messageId: string, senderId: string, text: string, replyToMessageId?: string) =>
      inC({
        type: 'MessageSent',
        data: {
          conversationId: c,
          messageId,
          senderId,
          text,
          mentions: none,
          attachments: [],
          ...(replyToMessageId ? { replyToMessageId } : {}),
        },
      });
    await spec
      .given(sent(m1, ann, 'one'), sent(m2, bob, 'two', m1))
      .when(
        inC({ type: 'ReactionAdded', data: { conversationId: c, messageId: m1, userId: cy, emoji: '🎉' } }),
        inC({ type: 'MessageEdited', data: { conversationId: c, messageId: m1, text: 'one!', mentions: none } }),
        inC({ type: 'ReactionAdded', data: { conversationId: c, messageId: m1, userId: bob, emoji: '👍' } }),
        inC({ type: 'ReactionRemoved', data: { conversationId: c, messageId: m1, userId: bob, emoji: '👍' } }),
        inC({ type: 'MessageDeleted', data: { conversationId: c, messageId: m2, deletedBy: bob } }),
      )
      .then(async (db) => {
        const { messages } = await timelinePage(db, c, { after: -1, limit: 10 });
        expect(messages.map((m) => [m.text, m.deleted, m.replyCount, m.reactions])).toEqual([
          ['one!', false, 0, { '🎉': [cy] }],
          ['', true, 0, {}],
        ]);
        expect(messages[0]?.editedAt).toMatch(/^2026-01-01T/);
      });
  });
});
