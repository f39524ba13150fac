/**
 * Group moderation end to end on the embedded default (ADR 020): a silence refuses a
 * member's sends until it ends or is lifted; a ban removes a member and keeps them (and
 * anyone banned) from joining by a link or an invitation until unbanned, while a kick
 * stays a kick; pins are listed as the timeline is read (a member who left sees them as at
 * their leaving); an announcement-only group takes only its owner's and admins' messages;
 * every moderation event reaches the members' sockets, live and in a catch-up.
 */
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { listen, openSocket, type TestSocket } from '../test-socket.js';

let app: NestFastifyApplication;
let base: string;

beforeAll(async () => {
  app = await testApp();
  base = await listen(app);
});
afterAll(async () => {
  await app.close();
});

const api = (who: TestUser) => apiOf(app, who);

/** A command or query that must succeed; its answer. */
async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  expect(response.status, `${response.status}: ${JSON.stringify(data ?? error)}`).toBeLessThan(300);
  return data!;
}

/** A request that must be refused with this status and code. */
async function refused(
  request: Promise<{ data?: unknown; error?: unknown; response: Response }>,
  status: number,
  code: string,
): Promise<void> {
  const { data, error, response } = await request;
  expect(
    [response.status, (error as { error?: { code?: string } } | undefined)?.error?.code],
    JSON.stringify(data),
  ).toEqual([status, code]);
}

/** A group of the owner, an admin and members, with a message of the owner's. */
async function team(...names: string[]) {
  const [owner, admin, ...members] = await Promise.all(['owner', 'admin', ...names].map((n) => signUp(app, n)));
  const { conversationId: id } = await ok(
    api(owner!).POST('/conversations/groups', {
      body: { name: 'team', memberIds: [admin!.userId, ...members.map((m) => m.userId)] },
    }),
  );
  await ok(
    api(owner!).PUT('/conversations/{id}/members/{userId}/role', {
      params: { path: { id, userId: admin!.userId } },
      body: { role: 'admin' },
    }),
  );
  return { id, owner: owner!, admin: admin!, members };
}

const send = (who: TestUser, id: string, text = 'hi') =>
  api(who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text },
  });

const socketOf = async (who: TestUser, id: string, from = -1): Promise<TestSocket> => {
  const socket = await openSocket(base, who.token);
  socket.send({ type: 'sync', conversations: { [id]: from } });
  await eventually(() => socket.frames.some((f) => f.type === 'synced' && f.conversationId === id));
  return socket;
};
const eventTypes = (socket: TestSocket, id: string): string[] =>
  socket.frames.filter((f) => f.type === 'event' && f.conversationId === id).map((f) => f.event!.type);

describe('silence (禁言)', () => {
  it("an admin silences a member: their sends and edits are refused with 403 CONVERSATION.SILENCED until it ends, the members' list and their details say until when", async () => {
    const { id, admin, members } = await team('bob', 'cy');
    const [bob, cy] = members as [TestUser, TestUser];
    const mine = await ok(send(bob, id, 'before'));
    const silenced = await ok(
      api(admin).PUT('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: bob.userId } },
        body: { durationSeconds: 2 },
      }),
    );
    expect(silenced.userId).toBe(bob.userId);
    const until = Date.parse(silenced.silencedUntil);
    expect(until - Date.now()).toBeGreaterThan(0);
    expect(until - Date.now()).toBeLessThanOrEqual(2_000);
    await refused(send(bob, id), 403, 'CONVERSATION.SILENCED');
    await refused(
      api(bob).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: mine.messageId } },
        body: { text: 'edited' },
      }),
      403,
      'CONVERSATION.SILENCED',
    );
    // Others still send; the silenced member still reacts.
    await ok(send(cy, id));
    await ok(
      api(bob).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id, messageId: mine.messageId, emoji: '👍' } },
      }),
    );
    const after = silenced.checkpoint!;
    const { members: listed } = await ok(
      api(cy).GET('/conversations/{id}/members', { params: { path: { id }, query: { after } } }),
    );
    expect(listed.find((m) => m.userId === bob.userId)?.silencedUntil).toBe(silenced.silencedUntil);
    expect(listed.find((m) => m.userId === cy.userId)?.silencedUntil).toBeNull();
    expect(
      (await ok(api(bob).GET('/conversations/{id}', { params: { path: { id }, query: { after } } }))).silencedUntil,
    ).toBe(silenced.silencedUntil);
    expect(
      (await ok(api(cy).GET('/conversations/{id}', { params: { path: { id }, query: { after } } }))).silencedUntil,
    ).toBeNull();
    // It ends by itself: no event needed, the decider is given the time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 50));
    await ok(send(bob, id, 'free again'));
    const { members: later } = await ok(api(cy).GET('/conversations/{id}/members', { params: { path: { id } } }));
    expect(later.find((m) => m.userId === bob.userId)?.silencedUntil).toBeNull();
  });

  it('an admin lifts a silence early; admins may not silence the owner or another admin; the owner may; members nobody', async () => {
    const { id, owner, admin, members } = await team('bob');
    const [bob] = members as [TestUser];
    const silence = (who: TestUser, userId: string) =>
      api(who).PUT('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId } },
        body: { durationSeconds: 3600 },
      });
    await ok(silence(admin, bob.userId));
    await refused(send(bob, id), 403, 'CONVERSATION.SILENCED');
    const lifted = await ok(
      api(admin).DELETE('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: bob.userId } },
      }),
    );
    expect(lifted.checkpoint).not.toBeNull();
    await ok(send(bob, id));
    // Lifting again writes nothing.
    expect(
      (
        await ok(
          api(admin).DELETE('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id, userId: bob.userId } },
          }),
        )
      ).checkpoint,
    ).toBeNull();
    await refused(silence(admin, owner.userId), 403, 'CONVERSATION.FORBIDDEN');
    await refused(silence(bob, admin.userId), 403, 'CONVERSATION.FORBIDDEN');
    await refused(silence(admin, admin.userId), 400, 'CONVERSATION.INVALID');
    await ok(silence(owner, admin.userId));
    await refused(send(admin, id), 403, 'CONVERSATION.SILENCED');
    await refused(
      api(admin).DELETE('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: admin.userId } },
      }),
      403,
      'CONVERSATION.FORBIDDEN',
    );
    // The duration is 1 s to 366 days, a whole number of seconds.
    for (const durationSeconds of [0, 1.5, 366 * 86_400 + 1]) {
      await refused(
        api(owner).PUT('/conversations/{id}/members/{userId}/silence', {
          params: { path: { id, userId: bob.userId } },
          body: { durationSeconds },
        }),
        400,
        'REQUEST.INVALID',
      );
    }
  });
});

describe('bans: a ban removes and bars, a kick only removes', () => {
  it('a banned member is removed, reads history up to the ban, and cannot come back by a link or an invitation until unbanned', async () => {
    const { id, owner, admin, members } = await team('bob', 'cy');
    const [bob, cy] = members as [TestUser, TestUser];
    const link = await ok(api(owner).POST('/conversations/{id}/links', { params: { path: { id } } }));
    await ok(send(bob, id, 'said before'));
    const banned = await ok(
      api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: bob.userId } } }),
    );
    const after = banned.checkpoint!;
    await ok(send(owner, id, 'said after'));
    await refused(
      api(bob).GET('/conversations/{id}', { params: { path: { id }, query: { after } } }),
      404,
      'CONVERSATION.NOT_FOUND',
    );
    const history = await ok(
      api(bob).GET('/conversations/{id}/messages', { params: { path: { id }, query: { after } } }),
    );
    expect(history.messages.map((m) => m.text)).toContain('said before');
    expect(history.messages.map((m) => m.text)).not.toContain('said after');
    await refused(
      api(bob).POST('/conversations/{id}/join', { params: { path: { id } }, body: { token: link.token } }),
      403,
      'CONVERSATION.BANNED',
    );
    await refused(
      api(admin).POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId: bob.userId } }),
      403,
      'CONVERSATION.BANNED',
    );
    await refused(
      api(bob).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }),
      403,
      'CONVERSATION.BANNED',
    );
    // The admins see the bans; a member does not.
    const { bans } = await ok(
      api(owner).GET('/conversations/{id}/bans', { params: { path: { id }, query: { after } } }),
    );
    expect(bans).toEqual([{ userId: bob.userId, bannedBy: admin.userId, bannedAt: expect.any(String) as string }]);
    await refused(api(cy).GET('/conversations/{id}/bans', { params: { path: { id } } }), 403, 'CONVERSATION.FORBIDDEN');
    await refused(
      api(bob).GET('/conversations/{id}/bans', { params: { path: { id } } }),
      404,
      'CONVERSATION.NOT_FOUND',
    );
    // Unbanned, they may join by the link again.
    const unbanned = await ok(
      api(admin).DELETE('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: bob.userId } } }),
    );
    expect(
      (
        await ok(
          api(owner).GET('/conversations/{id}/bans', {
            params: { path: { id }, query: { after: unbanned.checkpoint! } },
          }),
        )
      ).bans,
    ).toEqual([]);
    await ok(api(bob).POST('/conversations/{id}/join', { params: { path: { id } }, body: { token: link.token } }));
    await ok(send(bob, id, 'back'));
  });

  it('someone never in the group may be banned; a pending invitation ends with the ban; the owner and admins are protected as from a kick', async () => {
    const { id, owner, admin, members } = await team('bob');
    const [bob] = members as [TestUser];
    const [stranger, invited] = await Promise.all([signUp(app, 'stranger'), signUp(app, 'invited')]);
    const link = await ok(api(owner).POST('/conversations/{id}/links', { params: { path: { id } } }));
    await ok(
      api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: stranger.userId } } }),
    );
    await refused(
      api(stranger).POST('/conversations/{id}/join', { params: { path: { id } }, body: { token: link.token } }),
      403,
      'CONVERSATION.BANNED',
    );
    await ok(
      api(admin).POST('/conversations/{id}/invitations', {
        params: { path: { id } },
        body: { userId: invited.userId },
      }),
    );
    await ok(api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: invited.userId } } }));
    await ok(
      api(admin).DELETE('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: invited.userId } } }),
    );
    // The invitation ended with the ban: unbanned, they need a new one.
    await refused(
      api(invited).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }),
      404,
      'CONVERSATION.NOT_FOUND',
    );
    await refused(
      api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: owner.userId } } }),
      403,
      'CONVERSATION.FORBIDDEN',
    );
    await refused(
      api(bob).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: stranger.userId } } }),
      403,
      'CONVERSATION.FORBIDDEN',
    );
    await refused(
      api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: randomUUID() } } }),
      404,
      'USER.NOT_FOUND',
    );
    await ok(api(owner).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: admin.userId } } }));
  });

  it('a kick stays a kick: the kicked member joins again by a link, and is on no ban list', async () => {
    const { id, owner, members } = await team('bob');
    const [bob] = members as [TestUser];
    const link = await ok(api(owner).POST('/conversations/{id}/links', { params: { path: { id } } }));
    const kicked = await ok(
      api(owner).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: bob.userId } } }),
    );
    expect(
      (
        await ok(
          api(owner).GET('/conversations/{id}/bans', {
            params: { path: { id }, query: { after: kicked.checkpoint! } },
          }),
        )
      ).bans,
    ).toEqual([]);
    await ok(api(bob).POST('/conversations/{id}/join', { params: { path: { id } }, body: { token: link.token } }));
  });
});

describe('pins', () => {
  it('admins pin and unpin; the list shows each message as the timeline does, the latest pin first; a deletion ends a pin', async () => {
    const { id, owner, admin, members } = await team('bob');
    const [bob] = members as [TestUser];
    const one = await ok(send(bob, id, 'one'));
    const two = await ok(send(bob, id, 'two'));
    const pin = (who: TestUser, messageId: string) =>
      api(who).PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId } } });
    await ok(pin(admin, one.messageId));
    const second = await ok(pin(owner, two.messageId));
    await refused(pin(bob, one.messageId), 403, 'CONVERSATION.FORBIDDEN');
    await refused(pin(admin, randomUUID()), 404, 'MESSAGE.NOT_FOUND');
    // Pinning again writes nothing.
    expect((await ok(pin(admin, one.messageId))).checkpoint).toBeNull();
    const pins = await ok(
      api(bob).GET('/conversations/{id}/pins', { params: { path: { id }, query: { after: second.checkpoint! } } }),
    );
    expect(pins.pins.map((p) => [p.message.text, p.pinnedBy])).toEqual([
      ['two', owner.userId],
      ['one', admin.userId],
    ]);
    expect(pins.pins[0]!.pinnedSeq).toBe(second.seq);
    // Paged by the pin's seq.
    const first = await ok(
      api(bob).GET('/conversations/{id}/pins', { params: { path: { id }, query: { limit: '1' } } }),
    );
    expect(first.nextCursor).toBe(second.seq);
    const rest = await ok(
      api(bob).GET('/conversations/{id}/pins', {
        params: { path: { id }, query: { limit: '1', cursor: String(first.nextCursor) } },
      }),
    );
    expect(rest.pins.map((p) => p.message.text)).toEqual(['one']);
    expect(rest.nextCursor).toBeNull();
    const unpinned = await ok(
      api(admin).DELETE('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: one.messageId } } }),
    );
    expect(
      (
        await ok(
          api(bob).GET('/conversations/{id}/pins', {
            params: { path: { id }, query: { after: unpinned.checkpoint! } },
          }),
        )
      ).pins.map((p) => p.message.text),
    ).toEqual(['two']);
    const deleted = await ok(
      api(bob).DELETE('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: two.messageId } },
      }),
    );
    expect(
      (
        await ok(
          api(bob).GET('/conversations/{id}/pins', { params: { path: { id }, query: { after: deleted.checkpoint! } } }),
        )
      ).pins,
    ).toEqual([]);
    await refused(pin(admin, two.messageId), 409, 'MESSAGE.DELETED');
  });

  it('a member who left sees the pins as at their leaving, each message as it read then; an outsider gets 404', async () => {
    const { id, owner, members } = await team('bob', 'cy');
    const [bob, cy] = members as [TestUser, TestUser];
    const one = await ok(send(bob, id, 'one'));
    const two = await ok(send(bob, id, 'two'));
    const pin = (messageId: string) =>
      ok(api(owner).PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId } } }));
    await pin(one.messageId);
    await ok(api(cy).POST('/conversations/{id}/leave', { params: { path: { id } } }));
    await pin(two.messageId);
    await ok(
      api(owner).DELETE('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: one.messageId } } }),
    );
    const edited = await ok(
      api(bob).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: two.messageId } },
        body: { text: 'two, edited' },
      }),
    );
    const after = edited.checkpoint!;
    const left = await ok(api(cy).GET('/conversations/{id}/pins', { params: { path: { id }, query: { after } } }));
    expect(left.pins.map((p) => p.message.text)).toEqual(['one']);
    const member = await ok(api(bob).GET('/conversations/{id}/pins', { params: { path: { id }, query: { after } } }));
    expect(member.pins.map((p) => p.message.text)).toEqual(['two, edited']);
    const outsider = await signUp(app, 'outsider');
    await refused(
      api(outsider).GET('/conversations/{id}/pins', { params: { path: { id } } }),
      404,
      'CONVERSATION.NOT_FOUND',
    );
  });

  it('in a direct conversation either member pins; a pin by a user the other blocked is withheld (answered, never shown)', async () => {
    const [ann, ben] = await Promise.all([signUp(app, 'ann'), signUp(app, 'ben')]);
    const { conversationId: id } = await ok(api(ann).POST('/conversations/direct', { body: { userId: ben.userId } }));
    const hers = await ok(send(ann, id, 'pin me'));
    const pinned = await ok(
      api(ben).PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: hers.messageId } } }),
    );
    await ok(
      api(ben).DELETE('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: hers.messageId } } }),
    );
    await ok(api(ann).PUT('/blocks/{userId}', { params: { path: { userId: ben.userId } } }));
    const withheld = await ok(
      api(ben).PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: hers.messageId } } }),
    );
    expect(withheld.checkpoint).not.toBeNull();
    expect(withheld.seq).toBe(pinned.seq + 1);
    const { pins } = await ok(
      api(ann).GET('/conversations/{id}/pins', { params: { path: { id }, query: { after: withheld.checkpoint! } } }),
    );
    expect(pins).toEqual([]);
  });
});

describe('announcement-only groups', () => {
  it('an admin makes the group announcement-only: members get 403 CONVERSATION.ANNOUNCEMENT_ONLY, the owner and admins send; back, members send', async () => {
    const { id, owner, admin, members } = await team('bob');
    const [bob] = members as [TestUser];
    await refused(
      api(bob).PATCH('/conversations/{id}', { params: { path: { id } }, body: { announcementOnly: true } }),
      403,
      'CONVERSATION.FORBIDDEN',
    );
    const on = await ok(
      api(admin).PATCH('/conversations/{id}', { params: { path: { id } }, body: { announcementOnly: true } }),
    );
    const details = await ok(
      api(bob).GET('/conversations/{id}', { params: { path: { id }, query: { after: on.checkpoint! } } }),
    );
    expect(details.announcementOnly).toBe(true);
    await refused(send(bob, id), 403, 'CONVERSATION.ANNOUNCEMENT_ONLY');
    await ok(send(admin, id));
    await ok(send(owner, id));
    await ok(api(admin).PATCH('/conversations/{id}', { params: { path: { id } }, body: { announcementOnly: false } }));
    await ok(send(bob, id));
  });
});

describe('typing under moderation', () => {
  /** Sends a typing frame, and waits until the socket has handled it (its frames are handled in order). */
  async function typed(socket: TestSocket, id: string): Promise<void> {
    const probe = randomUUID();
    socket.send({ type: 'typing', conversationId: id });
    socket.send({ type: 'sync', conversations: { [probe]: -1 } });
    await eventually(() => socket.frames.some((f) => f.type === 'error' && f.conversationId === probe));
  }
  const typists = (socket: TestSocket, id: string): string[] =>
    socket.frames.filter((f) => f.type === 'typing' && f.conversationId === id).map((f) => f.userId!);

  it('a silenced member, and a plain member of an announcement-only group, are not shown typing: they may not send', async () => {
    const { id, owner, admin, members } = await team('bob', 'cy');
    const [bob, cy] = members as [TestUser, TestUser];
    const [ownerSocket, adminSocket, bobSocket, cySocket] = await Promise.all(
      [owner, admin, bob, cy].map((who) => socketOf(who, id)),
    );
    await ok(
      api(admin).PUT('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: bob.userId } },
        body: { durationSeconds: 60 },
      }),
    );
    await typed(bobSocket!, id);
    await typed(cySocket!, id);
    await eventually(() => typists(ownerSocket!, id).includes(cy.userId));
    expect(typists(ownerSocket!, id)).toEqual([cy.userId]);

    await ok(api(admin).PATCH('/conversations/{id}', { params: { path: { id } }, body: { announcementOnly: true } }));
    // Past the one-a-second relay interval of cy's socket.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await typed(cySocket!, id);
    await typed(adminSocket!, id);
    await eventually(() => typists(ownerSocket!, id).includes(admin.userId));
    expect(typists(ownerSocket!, id)).toEqual([cy.userId, admin.userId]);
    for (const socket of [ownerSocket, adminSocket, bobSocket, cySocket]) socket!.ws.close();
  });
});

describe('moderation events reach the members over the WebSocket', () => {
  it("live and in a catch-up; a banned member's socket gets the ban and the removal, then nothing", async () => {
    const { id, owner, admin, members } = await team('bob', 'cy');
    const [bob, cy] = members as [TestUser, TestUser];
    const one = await ok(send(owner, id, 'one'));
    const [cySocket, bobSocket] = await Promise.all([socketOf(cy, id), socketOf(bob, id)]);
    await ok(api(admin).PATCH('/conversations/{id}', { params: { path: { id } }, body: { announcementOnly: true } }));
    await ok(
      api(admin).PUT('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: cy.userId } },
        body: { durationSeconds: 60 },
      }),
    );
    await ok(
      api(admin).DELETE('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId: cy.userId } },
      }),
    );
    await ok(
      api(admin).PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: one.messageId } } }),
    );
    await ok(
      api(admin).DELETE('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId: one.messageId } } }),
    );
    await ok(api(admin).PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: bob.userId } } }));
    await ok(api(admin).DELETE('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: bob.userId } } }));
    const moderation = [
      'GroupAnnouncementOnlyChanged',
      'MemberSilenced',
      'MemberUnsilenced',
      'MessagePinned',
      'MessageUnpinned',
      'MemberBanned',
      'MemberKicked',
      'MemberUnbanned',
    ];
    await eventually(() => eventTypes(cySocket, id).at(-1) === 'MemberUnbanned');
    expect(eventTypes(cySocket, id).slice(-moderation.length)).toEqual(moderation);
    await eventually(() => eventTypes(bobSocket, id).at(-1) === 'MemberKicked');
    // Whatever comes after their removal, the unban included, is not theirs to see.
    await ok(send(owner, id, 'after'));
    await eventually(() => cySocket.frames.some((f) => f.event?.data.text === 'after'));
    expect(eventTypes(bobSocket, id).slice(-2)).toEqual(['MemberBanned', 'MemberKicked']);
    // A socket that syncs later replays them from the conversation's stream.
    const late = await socketOf(owner, id, one.seq);
    expect(eventTypes(late, id)).toEqual([...moderation, 'MessageSent']);
    for (const socket of [cySocket, bobSocket, late]) socket.ws.close();
  });
});
