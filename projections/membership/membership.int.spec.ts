/**
 * membership.v1, given-when-then against PostgreSQL: given a conversation's events, when
 * more are applied, then its queries answer so, again after the events are delivered twice.
 */
import { projectionSpec, type InStream } from '@herald/testing';
import { streamIdOf, type EventIn } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { membership } from './index.js';
import {
  conversationDetails,
  conversationKind,
  conversationsOf,
  currentMembers,
  memberAccess,
  shareAConversation,
} from './membership.queries.js';

const spec = projectionSpec([membership]);
const none = { userIds: [], all: false };

/** A group of fresh users: the owner and two members. */
function group() {
  const [c, owner, bob, cy] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  const created = inC({
    type: 'GroupCreated',
    data: { conversationId: c, ownerId: owner, name: 'g', memberIds: [bob, cy] },
  });
  const sent = (messageId: string, senderId: string, text: string) =>
    inC({
      type: 'MessageSent',
      data: { conversationId: c, messageId, senderId, text, mentions: none, attachments: [] },
    });
  return { c, owner, bob, cy, inC, created, sent };
}

describe('membership.v1', () => {
  it('a new group lists its owner and members with their roles', async () => {
    const g = group();
    await spec
      .given()
      .when(g.created)
      .then(async (db) => {
        const { members } = await currentMembers(db, g.c, { limit: 10 });
        expect(new Map(members.map((m) => [m.userId, m.role]))).toEqual(
          new Map([
            [g.owner, 'owner'],
            [g.bob, 'member'],
            [g.cy, 'member'],
          ]),
        );
      });
  });

  it('a member who left or was kicked is no longer listed and keeps the seq they left at', async () => {
    const g = group();
    await spec
      .given(g.created)
      .when(
        g.inC({ type: 'MemberLeft', data: { conversationId: g.c, userId: g.cy } }),
        g.inC({ type: 'MemberKicked', data: { conversationId: g.c, userId: g.bob, kickedBy: g.owner } }),
      )
      .then(async (db) => {
        expect((await currentMembers(db, g.c, { limit: 10 })).members.map((m) => m.userId)).toEqual([g.owner]);
        expect(await memberAccess(db, g.c, g.cy)).toEqual({ role: 'member', leftSeq: 1 });
        expect(await memberAccess(db, g.c, g.bob)).toEqual({ role: 'member', leftSeq: 2 });
        expect(await memberAccess(db, g.c, g.owner)).toEqual({ role: 'owner', leftSeq: null });
        expect(await memberAccess(db, g.c, randomUUID())).toBeNull();
      });
  });

  it('someone invited, who joined and was made admin, is listed as admin', async () => {
    const g = group();
    const dave = randomUUID();
    await spec
      .given(g.created)
      .when(
        g.inC({ type: 'MemberInvited', data: { conversationId: g.c, userId: dave, invitedBy: g.owner } }),
        g.inC({ type: 'MemberJoined', data: { conversationId: g.c, userId: dave, via: 'invitation' } }),
        g.inC({
          type: 'MemberRoleChanged',
          data: { conversationId: g.c, userId: dave, role: 'admin', changedBy: g.owner },
        }),
      )
      .then(async (db) => {
        const { members } = await currentMembers(db, g.c, { limit: 10 });
        expect(members.find((m) => m.userId === dave)).toEqual({ userId: dave, role: 'admin' });
      });
  });

  it("a mute shows in the muted member's conversation list, and only in theirs", async () => {
    const g = group();
    await spec
      .given(g.created)
      .when({
        stream: streamIdOf('receipts', g.bob),
        event: {
          type: 'ConversationMuteChanged',
          data: { conversationId: g.c, userId: g.bob, muted: true, until: null },
        },
      })
      .then(async (db) => {
        expect((await conversationsOf(db, g.bob, { limit: 10 })).conversations[0]?.muted).toBe(true);
        expect((await conversationsOf(db, g.owner, { limit: 10 })).conversations[0]?.muted).toBe(false);
      });
  });

  it('a rename, new details and the dissolution show in the group’s details', async () => {
    const g = group();
    await spec
      .given(g.created)
      .when(
        g.inC({ type: 'GroupRenamed', data: { conversationId: g.c, name: 'renamed' } }),
        g.inC({ type: 'GroupDetailsChanged', data: { conversationId: g.c, description: 'd', announcement: 'a' } }),
        g.inC({ type: 'GroupDissolved', data: { conversationId: g.c, dissolvedBy: g.owner } }),
      )
      .then(async (db) => {
        expect(await conversationDetails(db, g.c)).toMatchObject({
          conversationId: g.c,
          kind: 'group',
          name: 'renamed',
          description: 'd',
          announcement: 'a',
          dissolved: true,
          lastSeq: 3,
          memberCount: 3,
        });
      });
  });

  it('messages are counted and the last one is the preview, edited, then emptied once deleted', async () => {
    const g = group();
    const [m1, m2] = [randomUUID(), randomUUID()];
    const listed = async (db: Parameters<typeof conversationsOf>[0]) =>
      (await conversationsOf(db, g.owner, { limit: 10 })).conversations[0];
    await spec
      .given(g.created, g.sent(m1, g.owner, 'one'))
      .when(
        g.sent(m2, g.bob, 'two'),
        g.inC({ type: 'MessageEdited', data: { conversationId: g.c, messageId: m2, text: 'two!', mentions: none } }),
      )
      .then(async (db) => {
        expect(await listed(db)).toMatchObject({
          messageCount: 2,
          lastSeq: 3,
          lastMessage: { messageId: m2, senderId: g.bob, preview: 'two!' },
        });
      });
    await spec
      .given()
      .when(g.inC({ type: 'MessageDeleted', data: { conversationId: g.c, messageId: m2, deletedBy: g.bob } }))
      .then(async (db) => {
        expect(await listed(db)).toMatchObject({ messageCount: 2, lastMessage: { messageId: m2, preview: '' } });
      });
  });

  it('a direct conversation reads as direct', async () => {
    const [d, ann, bo] = [randomUUID(), randomUUID(), randomUUID()];
    await spec
      .given()
      .when({
        stream: streamIdOf('conversation', d),
        event: {
          type: 'DirectConversationStarted',
          data: { conversationId: d, memberIds: [ann, bo].sort() as [string, string] },
        },
      })
      .then(async (db) => {
        expect(await conversationKind(db, d)).toBe('direct');
        expect(await conversationKind(db, randomUUID())).toBeNull();
      });
  });

  it('two current members share a conversation; one who left shares it no more', async () => {
    const g = group();
    await spec
      .given(g.created)
      .when(g.inC({ type: 'MemberLeft', data: { conversationId: g.c, userId: g.cy } }))
      .then(async (db) => {
        expect(
          await shareAConversation(db, [
            [g.owner, g.bob],
            [g.owner, g.cy],
            [g.bob, randomUUID()],
          ]),
        ).toEqual([{ userId: g.owner, otherId: g.bob }]);
      });
  });

  it('conversations list most recently active first, a page at a time', async () => {
    const a = group();
    const h = randomUUID();
    // The same owner in two groups: the one with the later message comes first.
    const second: InStream = {
      stream: streamIdOf('conversation', h),
      event: { type: 'GroupCreated', data: { conversationId: h, ownerId: a.owner, name: 'h', memberIds: [] } },
    };
    await spec
      .given(a.created, second)
      .when(a.sent(randomUUID(), a.owner, 'later'))
      .then(async (db) => {
        const first = await conversationsOf(db, a.owner, { limit: 1 });
        expect(first.conversations.map((c) => c.conversationId)).toEqual([a.c]);
        const next = await conversationsOf(db, a.owner, { limit: 1, cursor: first.nextCursor! });
        expect(next.conversations.map((c) => c.conversationId)).toEqual([h]);
        expect(next.nextCursor).toBeNull();
      });
  });
});
