/**
 * moderation.v1, given-when-then against PostgreSQL: given a group's events, when moderation
 * events are applied, then its queries answer so, again after the events are delivered
 * twice. Pins are read now and as of a seq (a departed member's view).
 */
import { streamIdOf, type EventIn } from '@herald/events';
import { projectionSpec, type InStream } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { moderation } from './index.js';
import { bansPage, moderationFor, pinsPage, silencedUntil } from './moderation.queries.js';

const spec = projectionSpec([moderation]);
const none = { userIds: [], all: false };

function group() {
  const [c, owner, bob, cy] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  const created = inC({
    type: 'GroupCreated',
    data: { conversationId: c, ownerId: owner, name: 'g', memberIds: [bob, cy] },
  });
  const sent = (messageId: string) =>
    inC({
      type: 'MessageSent',
      data: { conversationId: c, messageId, senderId: bob, text: 'hi', mentions: none, attachments: [] },
    });
  return { c, owner, bob, cy, inC, created, sent };
}

describe('moderation.v1', () => {
  it('a group is not announcement-only until an admin says so, and back', async () => {
    const g = group();
    const set = (on: boolean) =>
      g.inC({
        type: 'GroupAnnouncementOnlyChanged',
        data: { conversationId: g.c, announcementOnly: on, changedBy: g.owner },
      });
    await spec
      .given(g.created)
      .when()
      .then(async (db) =>
        expect(await moderationFor(db, g.c, g.bob, new Date())).toEqual({
          announcementOnly: false,
          silencedUntil: null,
        }),
      );
    await spec
      .given()
      .when(set(true))
      .then(async (db) => expect((await moderationFor(db, g.c, g.bob, new Date())).announcementOnly).toBe(true));
    await spec
      .given()
      .when(set(false))
      .then(async (db) =>
        expect(await moderationFor(db, g.c, g.bob, new Date())).toEqual({
          announcementOnly: false,
          silencedUntil: null,
        }),
      );
  });

  it('a silence holds until its end, as the reader’s clock says; a new one replaces it; a lifted one is none', async () => {
    const g = group();
    const silence = (userId: string, until: string) =>
      g.inC({ type: 'MemberSilenced', data: { conversationId: g.c, userId, until, silencedBy: g.owner } });
    const early = new Date('2026-06-01T00:00:00.000Z');
    await spec
      .given(g.created)
      .when(
        silence(g.bob, '2026-06-01T01:00:00.000Z'),
        silence(g.cy, '2026-06-02T00:00:00.000Z'),
        silence(g.bob, '2026-06-01T02:00:00.000Z'),
      )
      .then(async (db) => {
        expect(await silencedUntil(db, g.c, [g.bob, g.cy, g.owner], early)).toEqual(
          new Map([
            [g.bob, '2026-06-01T02:00:00.000Z'],
            [g.cy, '2026-06-02T00:00:00.000Z'],
          ]),
        );
        expect(await moderationFor(db, g.c, g.bob, early)).toEqual({
          announcementOnly: false,
          silencedUntil: '2026-06-01T02:00:00.000Z',
        });
        // At its end exactly, it is over.
        const atEnd = await silencedUntil(db, g.c, [g.bob, g.cy], new Date('2026-06-01T02:00:00.000Z'));
        expect([...atEnd.keys()]).toEqual([g.cy]);
      });
    await spec
      .given()
      .when(g.inC({ type: 'MemberUnsilenced', data: { conversationId: g.c, userId: g.cy, unsilencedBy: g.owner } }))
      .then(async (db) => {
        expect([...(await silencedUntil(db, g.c, [g.bob, g.cy], early)).keys()]).toEqual([g.bob]);
      });
  });

  it('bans are listed by user id, a page at a time; an unbanned user is not, a banned again one is', async () => {
    const g = group();
    const dave = randomUUID();
    const ban = (userId: string) =>
      g.inC({ type: 'MemberBanned', data: { conversationId: g.c, userId, bannedBy: g.owner } });
    const unban = (userId: string) =>
      g.inC({ type: 'MemberUnbanned', data: { conversationId: g.c, userId, unbannedBy: g.owner } });
    const sorted = [g.bob, g.cy, dave].sort();
    await spec
      .given(g.created)
      .when(
        ban(g.bob),
        g.inC({ type: 'MemberKicked', data: { conversationId: g.c, userId: g.bob, kickedBy: g.owner } }),
        ban(g.cy),
        ban(dave),
        unban(g.cy),
      )
      .then(async (db) => {
        const first = await bansPage(db, g.c, { limit: 1 });
        const rest = await bansPage(db, g.c, { limit: 5, cursor: first.nextCursor! });
        const listed = [...first.bans, ...rest.bans];
        expect(listed.map((b) => b.userId)).toEqual(sorted.filter((id) => id !== g.cy));
        expect(rest.nextCursor).toBeNull();
        expect(listed[0]).toMatchObject({ bannedBy: g.owner });
        // When they were banned is the event's time (the spec's events are in 2026-01-01), never the clock's.
        expect(listed.every((b) => b.bannedAt.startsWith('2026-01-01T'))).toBe(true);
      });
    await spec
      .given()
      .when(ban(g.cy))
      .then(async (db) => {
        expect((await bansPage(db, g.c, { limit: 10 })).bans.map((b) => b.userId)).toEqual(sorted);
      });
  });

  it('pins: the most recently pinned first, paged; unpinned or deleted ones end; as of a seq, the pins then', async () => {
    const g = group();
    const [m1, m2, m3] = [randomUUID(), randomUUID(), randomUUID()];
    const pin = (messageId: string) =>
      g.inC({ type: 'MessagePinned', data: { conversationId: g.c, messageId, pinnedBy: g.owner } });
    // Seqs: 0 created, 1-3 sent, 4 pin m1, 5 pin m2, 6 pin m3, 7 unpin m1, 8 delete m2, 9 pin m1 again.
    await spec
      .given(g.created, g.sent(m1), g.sent(m2), g.sent(m3))
      .when(
        pin(m1),
        pin(m2),
        pin(m3),
        g.inC({ type: 'MessageUnpinned', data: { conversationId: g.c, messageId: m1, unpinnedBy: g.owner } }),
        g.inC({ type: 'MessageDeleted', data: { conversationId: g.c, messageId: m2, deletedBy: g.bob } }),
        pin(m1),
      )
      .then(async (db) => {
        const now = await pinsPage(db, g.c, { limit: 1 });
        expect(now.pins.map((p) => [p.pinnedSeq, p.messageId])).toEqual([[9, m1]]);
        const next = await pinsPage(db, g.c, { limit: 10, before: now.nextCursor! });
        expect(next.pins.map((p) => [p.pinnedSeq, p.messageId])).toEqual([[6, m3]]);
        expect(next.nextCursor).toBeNull();
        expect(now.pins[0]).toMatchObject({ pinnedBy: g.owner });
        const at = async (seq: number) =>
          (await pinsPage(db, g.c, { limit: 10, asOf: seq })).pins.map((p) => p.messageId);
        expect(await at(3)).toEqual([]);
        expect(await at(6)).toEqual([m3, m2, m1]);
        expect(await at(7)).toEqual([m3, m2]);
        expect(await at(8)).toEqual([m3]);
        expect(await at(9)).toEqual([m1, m3]);
      });
  });
});
