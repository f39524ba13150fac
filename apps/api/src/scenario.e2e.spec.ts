/**
 * One story, three users, every feature: alice, bob and carol become contacts, talk in a
 * direct conversation and a group, mention, reply, edit, delete, react, attach, read, mute,
 * change roles, follow the group over WebSocket, get kicked and blocked, join by invitation
 * and by link, leave, and see a group dissolved. After each step the inbox of every user is
 * checked (unread and mention counts, last message, order by last activity, whether
 * dissolved), read right after the write with `?after=<checkpoint>`: no sleeping.
 * The steps share state and run in order; seqs are exact because nothing else writes to
 * these conversations.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signUp, testApp, type TestUser } from './test-app.js';

let app: NestFastifyApplication;
let base: string;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
/** Names for ids, so that inbox rows read as `{ c: 'group', last: 'alice: hi' }`. */
const names = new Map<string, string>();

beforeAll(async () => {
  app = await testApp();
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  [alice, bob, carol] = await Promise.all([signUp(app, 'alice'), signUp(app, 'bob'), signUp(app, 'carol')]);
  names.set(alice.userId, 'alice').set(bob.userId, 'bob').set(carol.userId, 'carol');
});
afterAll(async () => {
  await app.close();
});

describe('three users, every feature, counts at each step', () => {
  let dm: string;
  let group: string;
  /** carol's own group, for invitations, links, leaving and dissolving. */
  let club: string;
  /** The latest checkpoint a command answered with: reads wait for it. */
  let at: string;
  const m: Record<string, string> = {};
  /** carol's socket, from the WebSocket step to the kick. */
  let carolSocket: Socket;

  it('profiles and contacts; a direct conversation, messages both ways, reading up to a seq', async () => {
    const profile = await call<Profile>(alice, 'PATCH', '/me', { displayName: 'Alice', statusText: 'shipping' });
    expect(profile.body).toMatchObject({ userId: alice.userId, displayName: 'Alice', statusText: 'shipping' });
    expect((await call<Profile>(bob, 'GET', `/users/${alice.userId}`)).body).toMatchObject({
      displayName: 'Alice',
      statusText: 'shipping',
      avatarUrl: null,
    });

    expect((await call(alice, 'POST', `/contacts/${bob.userId}`)).body).toMatchObject({ status: 'requested' });
    expect((await call(bob, 'POST', `/contacts/${alice.userId}/accept`)).body).toMatchObject({ status: 'contacts' });
    await expectInboxes(null, { alice: [], bob: [], carol: [] });

    const started = await call(alice, 'POST', '/conversations/direct', { userId: bob.userId });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ seq: 0 });
    dm = started.body.conversationId;
    names.set(dm, 'dm');
    at = started.body.checkpoint!;
    // One per pair: again, from either side, the same conversation and nothing written.
    for (const [who, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const again = await call(who, 'POST', '/conversations/direct', { userId: other.userId });
      expect(again.body).toEqual({ conversationId: dm, seq: 0, checkpoint: null });
    }
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: null }],
      bob: [{ c: 'dm', unread: 0, mentions: 0, last: null }],
      carol: [],
    });
    // The contact events are older than the conversation: the directory has them by now.
    const contactsOf = async (who: TestUser) => (await call<{ contacts: unknown[] }>(who, 'GET', '/contacts')).body;
    expect(await contactsOf(alice)).toEqual({
      contacts: [{ userId: bob.userId, status: 'contacts' }],
      nextCursor: null,
    });
    expect(await contactsOf(bob)).toEqual({
      contacts: [{ userId: alice.userId, status: 'contacts' }],
      nextCursor: null,
    });
    expect(await contactsOf(carol)).toEqual({ contacts: [], nextCursor: null });

    at = await say(alice, dm, 'hi bob', 1);
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: hi bob' }],
      bob: [{ c: 'dm', unread: 1, mentions: 0, last: 'alice: hi bob' }],
      carol: [],
    });
    at = await say(bob, dm, 'hi alice', 2);
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 1, mentions: 0, last: 'bob: hi alice' }],
      bob: [{ c: 'dm', unread: 0, mentions: 0, last: 'bob: hi alice' }],
      carol: [],
    });
    await say(alice, dm, 'lunch?', 3);
    at = await say(alice, dm, 'noon?', 4);
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' }],
      bob: [{ c: 'dm', unread: 2, mentions: 0, last: 'alice: noon?' }],
      carol: [],
    });

    at = await read(bob, dm, 3);
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' }],
      bob: [{ c: 'dm', unread: 1, mentions: 0, last: 'alice: noon?' }],
      carol: [],
    });
    at = await read(bob, dm, 4);
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' }],
      bob: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' }],
      carol: [],
    });
    const rows = await call<Inbox>(bob, 'GET', `/conversations?after=${at}`);
    expect(rows.body.conversations[0]).toMatchObject({
      kind: 'direct',
      name: null,
      role: 'member',
      messageCount: 4,
      readSeq: 4,
    });
  });

  it('a group: messages, mentions, @all (admins only), replies, edits, deletes, reactions, attachments, reads', async () => {
    const created = await call(alice, 'POST', '/conversations/groups', {
      name: 'team',
      memberIds: [bob.userId, carol.userId],
    });
    expect(created.status).toBe(201);
    group = created.body.conversationId;
    names.set(group, 'group');
    at = created.body.checkpoint!;
    // The newest activity comes first.
    await expectInboxes(at, {
      alice: [
        { c: 'group', unread: 0, mentions: 0, last: null },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' },
      ],
      bob: [
        { c: 'group', unread: 0, mentions: 0, last: null },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' },
      ],
      carol: [{ c: 'group', unread: 0, mentions: 0, last: null }],
    });

    // Each step: the group's unread and mention counts for [alice, bob, carol], and its last message.
    const dmRow = { c: 'dm', unread: 0, mentions: 0, last: 'alice: noon?' };
    const step = async (unread: [number, number, number], mentions: [number, number, number], last: string) =>
      expectInboxes(at, {
        alice: [{ c: 'group', unread: unread[0], mentions: mentions[0], last }, dmRow],
        bob: [{ c: 'group', unread: unread[1], mentions: mentions[1], last }, dmRow],
        carol: [{ c: 'group', unread: unread[2], mentions: mentions[2], last }],
      });

    at = await say(alice, group, 'welcome, team', 1, {}, (id) => (m.welcome = id));
    await step([0, 1, 1], [0, 0, 0], 'alice: welcome, team');
    at = await say(carol, group, 'hi all, carol here', 2, {}, (id) => (m.carolHi = id));
    await step([1, 2, 0], [0, 0, 0], 'carol: hi all, carol here');
    at = await say(bob, group, 'thanks!', 3);
    await step([2, 0, 1], [0, 0, 0], 'bob: thanks!');

    at = await say(alice, group, 'carol, can you share the deck?', 4, { mentions: { userIds: [carol.userId] } });
    await step([0, 1, 2], [0, 0, 1], 'alice: carol, can you share the deck?');

    const refused = await send(carol, group, 'everyone, look', { mentions: { all: true } });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'CONVERSATION.FORBIDDEN' } });
    // @all and a name in one message: one mention of carol, not two.
    at = await say(alice, group, 'standup in 5', 5, { mentions: { all: true, userIds: [carol.userId] } });
    await step([0, 2, 3], [0, 1, 2], 'alice: standup in 5');

    at = await say(bob, group, 'glad to be here', 6, { replyToMessageId: m.welcome });
    await step([1, 0, 4], [0, 0, 2], 'bob: glad to be here');
    const agenda = {
      url: 'https://files.example.com/agenda.pdf',
      name: 'agenda.pdf',
      mimeType: 'application/pdf',
      sizeBytes: 12_345,
    };
    const withFile = { replyToMessageId: m.welcome, attachments: [agenda] };
    at = await say(alice, group, 'agenda attached', 7, withFile, (id) => (m.agenda = id));
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached');
    const withAgenda = await call<Inbox>(carol, 'GET', `/conversations?after=${at}`);
    expect(withAgenda.body.conversations[0]!.lastMessage).toMatchObject({ deleted: false, attachmentCount: 1 });

    // Edits: the author only; the preview follows the last message's text.
    const notYours = await call(bob, 'PATCH', `/conversations/${group}/messages/${m.agenda}`, { text: 'mine' });
    expect(notYours.status).toBe(403);
    const edited = await call(alice, 'PATCH', `/conversations/${group}/messages/${m.agenda}`, {
      text: 'agenda attached (v2)',
    });
    expect(edited.body).toMatchObject({ seq: 8 });
    at = edited.body.checkpoint!;
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    // Deletes: the author or an admin; a member may not delete another's message.
    expect((await call(bob, 'DELETE', `/conversations/${group}/messages/${m.carolHi}`)).status).toBe(403);
    const deleted = await call(alice, 'DELETE', `/conversations/${group}/messages/${m.carolHi}`);
    expect(deleted.body).toMatchObject({ seq: 9 });
    at = deleted.body.checkpoint!;
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    // Reactions: one per emoji per user; adding twice or removing twice writes nothing.
    const reaction = (emoji: string) =>
      `/conversations/${group}/messages/${m.welcome}/reactions/${encodeURIComponent(emoji)}`;
    expect((await call(bob, 'PUT', reaction('👍'))).body).toMatchObject({ seq: 10 });
    expect((await call(bob, 'PUT', reaction('👍'))).body).toMatchObject({ seq: 10, checkpoint: null });
    expect((await call(carol, 'PUT', reaction('👍'))).body).toMatchObject({ seq: 11 });
    expect((await call(carol, 'PUT', reaction('🎉'))).body).toMatchObject({ seq: 12 });
    const unreacted = await call(bob, 'DELETE', reaction('👍'));
    expect(unreacted.body).toMatchObject({ seq: 13 });
    expect((await call(bob, 'DELETE', reaction('👍'))).body).toMatchObject({ seq: 13, checkpoint: null });
    at = unreacted.body.checkpoint!;
    // Reacting is not reading, and a reaction is not a message.
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    const timeline = await call<Page>(alice, 'GET', `/conversations/${group}/messages?after=${at}`);
    expect(timeline.body.nextCursor).toBeNull();
    expect(timeline.body.messages.map((x) => [x.seq, x.text])).toEqual([
      [7, 'agenda attached (v2)'],
      [6, 'glad to be here'],
      [5, 'standup in 5'],
      [4, 'carol, can you share the deck?'],
      [3, 'thanks!'],
      [2, ''],
      [1, 'welcome, team'],
    ]);
    const bySeq = (seq: number) => timeline.body.messages.find((x) => x.seq === seq)!;
    expect(bySeq(1)).toMatchObject({
      replyCount: 2,
      reactions: { '👍': [carol.userId], '🎉': [carol.userId] },
      editedAt: null,
      deleted: false,
    });
    expect(bySeq(2)).toMatchObject({ deleted: true, mentions: { userIds: [], all: false }, reactions: {} });
    expect(bySeq(4).mentions).toEqual({ userIds: [carol.userId], all: false });
    expect(bySeq(5).mentions).toEqual({ userIds: [carol.userId], all: true });
    expect(bySeq(6)).toMatchObject({ replyToMessageId: m.welcome, replyCount: 0, senderId: bob.userId });
    expect(bySeq(7)).toMatchObject({ replyToMessageId: m.welcome, attachments: [agenda], deleted: false });
    expect(bySeq(7).editedAt).not.toBeNull();

    // Reading: up to a seq leaves what is after it; up to the end clears both counts.
    at = await read(carol, group, 4);
    await step([0, 1, 3], [0, 0, 1], 'alice: agenda attached (v2)');
    expect((await call(carol, 'POST', `/conversations/${group}/read`, { upToSeq: 14 })).status).toBe(400);
    at = await read(carol, group, 13);
    await step([0, 1, 0], [0, 0, 0], 'alice: agenda attached (v2)');
    at = await read(bob, group, 13);
    await step([0, 0, 0], [0, 0, 0], 'alice: agenda attached (v2)');

    // Delivery receipts are accepted up to the last seq, and are not reads.
    const delivered = await call<Receipt>(bob, 'POST', `/conversations/${group}/delivered`, { upToSeq: 13 });
    expect(delivered.status).toBe(200);
    expect(delivered.body).toMatchObject({ conversationId: group, upToSeq: 13 });
    expect((await call(bob, 'POST', `/conversations/${group}/delivered`, { upToSeq: 99 })).status).toBe(400);
    expect((await call(carol, 'POST', `/conversations/${dm}/delivered`, { upToSeq: 1 })).status).toBe(404);
    at = delivered.body.checkpoint;
    await step([0, 0, 0], [0, 0, 0], 'alice: agenda attached (v2)');
  });

  it('details, roles, ownership and mute: what each changes in the inbox', async () => {
    at = await say(alice, dm, 'see you at noon', 5);
    const groupRow = { c: 'group', unread: 0, mentions: 0, last: 'alice: agenda attached (v2)' };
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: 'alice: see you at noon' }, groupRow],
      bob: [{ c: 'dm', unread: 1, mentions: 0, last: 'alice: see you at noon' }, groupRow],
      carol: [groupRow],
    });

    expect((await call(carol, 'PATCH', `/conversations/${group}`, { name: 'carol’s' })).status).toBe(403);
    const changed = await call(alice, 'PATCH', `/conversations/${group}`, {
      name: 'Launch team',
      description: 'Q3 launch',
      announcement: 'Ship on Friday',
    });
    // A rename and a details change: two events, the answer is the last one's.
    expect(changed.body).toMatchObject({ seq: 15 });
    at = changed.body.checkpoint!;
    const details = await call(carol, 'GET', `/conversations/${group}?after=${at}`);
    expect(details.body).toMatchObject({
      kind: 'group',
      name: 'Launch team',
      description: 'Q3 launch',
      announcement: 'Ship on Friday',
      dissolved: false,
      memberCount: 3,
    });
    // The members, by user id.
    const members = await call<{ members: unknown[] }>(carol, 'GET', `/conversations/${group}/members`);
    expect(members.body.members).toEqual(
      [
        { userId: alice.userId, role: 'owner' },
        { userId: bob.userId, role: 'member' },
        { userId: carol.userId, role: 'member' },
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    // Renaming is not activity: the order stays.
    const full = async (who: TestUser) =>
      (await call<Inbox>(who, 'GET', `/conversations?after=${at}`)).body.conversations.map((r) => [
        names.get(r.conversationId),
        r.name,
        r.role,
        r.muted,
        r.unreadCount,
        r.mentionCount,
      ]);
    expect(await full(alice)).toEqual([
      ['dm', null, 'member', false, 0, 0],
      ['group', 'Launch team', 'owner', false, 0, 0],
    ]);
    expect(await full(carol)).toEqual([['group', 'Launch team', 'member', false, 0, 0]]);

    expect(
      (await call(carol, 'PUT', `/conversations/${group}/members/${bob.userId}/role`, { role: 'admin' })).status,
    ).toBe(403);
    const promoted = await call(alice, 'PUT', `/conversations/${group}/members/${bob.userId}/role`, { role: 'admin' });
    expect(promoted.body).toMatchObject({ seq: 16 });
    at = promoted.body.checkpoint!;
    expect(await full(bob)).toEqual([
      ['dm', null, 'member', false, 1, 0],
      ['group', 'Launch team', 'admin', false, 0, 0],
    ]);
    const transferred = await call(alice, 'POST', `/conversations/${group}/owner`, { userId: bob.userId });
    expect(transferred.body).toMatchObject({ seq: 18 });
    at = transferred.body.checkpoint!;
    expect((await full(alice))[1]).toEqual(['group', 'Launch team', 'admin', false, 0, 0]);
    expect((await full(bob))[1]).toEqual(['group', 'Launch team', 'owner', false, 0, 0]);
    // Only the owner changes roles now.
    expect(
      (await call(alice, 'PUT', `/conversations/${group}/members/${carol.userId}/role`, { role: 'admin' })).status,
    ).toBe(403);

    // Muting changes the flag, not the counts, nor the order.
    const muted = await call(carol, 'PUT', `/conversations/${group}/mute`, { muted: true });
    expect(muted.body).toMatchObject({ muted: true, until: null });
    at = muted.body.checkpoint!;
    expect(await full(carol)).toEqual([['group', 'Launch team', 'member', true, 0, 0]]);
    await say(alice, group, 'heads-up: demo moved', 19);
    at = await say(alice, group, 'carol, you present', 20, { mentions: { userIds: [carol.userId] } });
    expect(await full(carol)).toEqual([['group', 'Launch team', 'member', true, 2, 1]]);
    const unmuted = await call(carol, 'PUT', `/conversations/${group}/mute`, { muted: false });
    expect(unmuted.body).toMatchObject({ muted: false });
    at = unmuted.body.checkpoint!;
    await expectInboxes(at, {
      alice: [
        { c: 'group', unread: 0, mentions: 0, last: 'alice: carol, you present' },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: see you at noon' },
      ],
      bob: [
        { c: 'group', unread: 2, mentions: 0, last: 'alice: carol, you present' },
        { c: 'dm', unread: 1, mentions: 0, last: 'alice: see you at noon' },
      ],
      carol: [{ c: 'group', unread: 2, mentions: 1, last: 'alice: carol, you present' }],
    });

    // A mute with an end: muted until then, and not once it has passed.
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    at = (await call(bob, 'PUT', `/conversations/${dm}/mute`, { muted: true, until: inAnHour })).body.checkpoint!;
    expect((await full(bob))[1]).toEqual(['dm', null, 'member', true, 1, 0]);
    expect((await full(alice))[1]).toEqual(['dm', null, 'member', false, 0, 0]);
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
    const lapsed = await call(bob, 'PUT', `/conversations/${dm}/mute`, { muted: true, until: aMinuteAgo });
    expect(lapsed.body).toMatchObject({ muted: true, until: aMinuteAgo });
    at = lapsed.body.checkpoint!;
    expect((await full(bob))[1]).toEqual(['dm', null, 'member', false, 1, 0]);
  });

  it('over WebSocket: live events in seq order; after a disconnect, exactly the missed ones', async () => {
    const socket = await connect(carol);
    socket.send({ type: 'sync', conversations: { [group]: 20, [dm]: -1 } });
    // Not hers: the same answer as a conversation that does not exist.
    await socket.until('not found for the dm', (f) => f.some((x) => x.type === 'error' && x.conversationId === dm));
    await socket.until('synced', (f) => f.some((x) => x.type === 'synced' && x.conversationId === group));
    expect(socket.frames.find((x) => x.type === 'synced')).toMatchObject({ seq: 20 });
    expect(socket.frames.find((x) => x.type === 'error')).toMatchObject({ code: 'CONVERSATION.NOT_FOUND' });

    await say(alice, group, 'live one', 21, {}, (id) => (m.liveOne = id));
    // A mute is the member's own business: it takes no seq and nobody else hears of it.
    await call(bob, 'PUT', `/conversations/${group}/mute`, { muted: true });
    await call(bob, 'PUT', `/conversations/${group}/mute`, { muted: false });
    await call(bob, 'PUT', `/conversations/${group}/messages/${m.liveOne}/reactions/${encodeURIComponent('👀')}`);
    await say(bob, group, 'live two', 23, {}, (id) => (m.liveTwo = id));
    await socket.until('seq 23', (f) => seen(f, group).length === 3);
    expect(seen(socket.frames, group)).toEqual(['21 MessageSent', '22 ReactionAdded', '23 MessageSent']);
    expect(socket.frames.filter((x) => x.type === 'event').map((x) => x.event!.actorId)).toEqual([
      alice.userId,
      bob.userId,
      bob.userId,
    ]);
    await socket.close();

    await say(alice, group, 'missed one', 24);
    await call(bob, 'PATCH', `/conversations/${group}/messages/${m.liveTwo}`, { text: 'live two, edited' });
    at = await say(alice, group, 'carol, missed two', 26, { mentions: { userIds: [carol.userId] } });
    // carol read up to 13: since then 19, 20, 21, 23, 24 and 26; 20 and 26 name her.
    await expectInboxes(at, {
      alice: [
        { c: 'group', unread: 0, mentions: 0, last: 'alice: carol, missed two' },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: see you at noon' },
      ],
      bob: [
        { c: 'group', unread: 2, mentions: 0, last: 'alice: carol, missed two' },
        { c: 'dm', unread: 1, mentions: 0, last: 'alice: see you at noon' },
      ],
      carol: [{ c: 'group', unread: 6, mentions: 2, last: 'alice: carol, missed two' }],
    });

    const again = await connect(carol);
    again.send({ type: 'sync', conversations: { [group]: 23 } });
    await again.until('synced', (f) => f.some((x) => x.type === 'synced'));
    expect(again.frames.map((x) => (x.type === 'event' ? `${x.seq} ${x.event!.type}` : `${x.type} ${x.seq}`))).toEqual([
      '24 MessageSent',
      '25 MessageEdited',
      '26 MessageSent',
      'synced 26',
    ]);
    at = await say(bob, group, 'welcome back', 27);
    await again.until('seq 27', (f) => seen(f, group).length === 4);
    expect(seen(again.frames, group)).toEqual([
      '24 MessageSent',
      '25 MessageEdited',
      '26 MessageSent',
      '27 MessageSent',
    ]);
    carolSocket = again;
  });

  it('kicked: the kick is the last event pushed; history up to the kick; out of the inbox', async () => {
    const bobSocket = await connect(bob);
    bobSocket.send({ type: 'sync', conversations: { [group]: 27 } });
    await bobSocket.until('synced', (f) => f.some((x) => x.type === 'synced'));

    // alice is an admin now, not the owner: she may not kick the owner; she may kick a member.
    expect((await call(alice, 'DELETE', `/conversations/${group}/members/${bob.userId}`)).status).toBe(403);
    const kicked = await call(alice, 'DELETE', `/conversations/${group}/members/${carol.userId}`);
    expect(kicked.body).toMatchObject({ seq: 28 });
    await carolSocket.until('the kick', (f) => seen(f, group).length === 5);
    expect(carolSocket.frames.at(-1)).toMatchObject({
      seq: 28,
      event: { type: 'MemberKicked', data: { userId: carol.userId, kickedBy: alice.userId } },
    });
    at = await say(alice, group, 'after the kick', 29);
    await bobSocket.until('seq 29', (f) => seen(f, group).at(-1) === '29 MessageSent');
    // Anything pushed to carol after the kick would arrive before the answer to this.
    carolSocket.send({ type: 'sync', conversations: { [group]: 27 } });
    await carolSocket.until('refused', (f) => f.some((x) => x.type === 'error'));
    expect(seen(carolSocket.frames, group)).toEqual([
      '24 MessageSent',
      '25 MessageEdited',
      '26 MessageSent',
      '27 MessageSent',
      '28 MemberKicked',
    ]);
    expect(carolSocket.frames.at(-1)).toMatchObject({ type: 'error', code: 'CONVERSATION.NOT_FOUND' });
    await Promise.all([carolSocket.close(), bobSocket.close()]);

    const history = await call<Page>(carol, 'GET', `/conversations/${group}/messages?after=${at}`);
    expect(history.body.messages.map((x) => x.seq)).toEqual([27, 26, 24, 23, 21, 20, 19, 7, 6, 5, 4, 3, 2, 1]);
    const forward = await call<Page>(carol, 'GET', `/conversations/${group}/messages?since=27`);
    expect(forward.body).toEqual({ messages: [], nextCursor: null });
    expect((await call(carol, 'GET', `/conversations/${group}`)).status).toBe(404);
    expect((await send(carol, group, 'let me back')).status).toBe(404);
    expect((await call(carol, 'POST', `/conversations/${group}/read`, { upToSeq: 28 })).status).toBe(404);
    // The inbox lists the conversations one is in: the group is gone from carol's.
    await expectInboxes(at, {
      alice: [
        { c: 'group', unread: 0, mentions: 0, last: 'alice: after the kick' },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: see you at noon' },
      ],
      bob: [
        { c: 'group', unread: 1, mentions: 0, last: 'alice: after the kick' },
        { c: 'dm', unread: 1, mentions: 0, last: 'alice: see you at noon' },
      ],
      carol: [],
    });
    const details = await call(alice, 'GET', `/conversations/${group}`);
    expect(details.body).toMatchObject({ memberCount: 2 });
    const members = await call<{ members: unknown[] }>(alice, 'GET', `/conversations/${group}/members`);
    expect(members.body.members).toHaveLength(2);
  });

  it('a block: what the blocked one writes in the direct conversation is answered and withheld, until unblocked', async () => {
    expect((await call(bob, 'PUT', `/blocks/${alice.userId}`)).status).toBe(200);
    // Answered as a send (the block is not revealed), and it reaches nobody: no count moves below.
    const blocked = await send(alice, dm, 'hello?');
    expect(blocked.status).toBe(201);
    expect((await send(carol, dm, 'hello?')).body).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    expect((await call(alice, 'POST', '/conversations/direct', { userId: bob.userId })).status).toBe(201);
    expect((await call(alice, 'POST', `/contacts/${bob.userId}`)).status).toBe(200);
    // The group is not a direct conversation: the block does not reach it.
    at = await say(alice, group, 'still fine here', 30);
    await expectInboxes(at, {
      alice: [
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: see you at noon' },
      ],
      bob: [
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
        { c: 'dm', unread: 1, mentions: 0, last: 'alice: see you at noon' },
      ],
      carol: [],
    });

    at = await say(bob, dm, 'I need a break', 6);
    await expectInboxes(at, {
      alice: [
        { c: 'dm', unread: 1, mentions: 0, last: 'bob: I need a break' },
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
      ],
      bob: [
        { c: 'dm', unread: 0, mentions: 0, last: 'bob: I need a break' },
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
      ],
      carol: [],
    });
    expect((await call(bob, 'GET', '/blocks')).body).toEqual({ blocks: [{ userId: alice.userId }], nextCursor: null });

    expect((await call(bob, 'DELETE', `/blocks/${alice.userId}`)).status).toBe(200);
    at = await say(alice, dm, 'sorry!', 7, { mentions: { userIds: [bob.userId] } }, (id) => (m.sorry = id));
    await expectInboxes(at, {
      alice: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: sorry!' },
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
      ],
      bob: [
        { c: 'dm', unread: 1, mentions: 1, last: 'alice: sorry!' },
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
      ],
      carol: [],
    });
    expect((await call(bob, 'GET', '/blocks')).body).toEqual({ blocks: [], nextCursor: null });

    // Deleting the last message empties its preview; unread, it is no longer unread nor a mention.
    const unsaid = await call(alice, 'DELETE', `/conversations/${dm}/messages/${m.sorry}`);
    expect(unsaid.body).toMatchObject({ seq: 8 });
    at = unsaid.body.checkpoint!;
    await expectInboxes(at, {
      alice: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
      ],
      bob: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
      ],
      carol: [],
    });
    const afterDelete = await call<Inbox>(bob, 'GET', `/conversations?after=${at}`);
    expect(afterDelete.body.conversations[0]!.lastMessage).toMatchObject({
      messageId: m.sorry,
      deleted: true,
      attachmentCount: 0,
    });
  });

  it('the timeline pages by seq both ways, and each way sees every message once', async () => {
    const all = [30, 29, 27, 26, 24, 23, 21, 20, 19, 7, 6, 5, 4, 3, 2, 1];
    const back: number[][] = [];
    let cursor: number | null = null;
    do {
      const query: string = cursor === null ? `after=${at}` : `before=${cursor}`;
      const page: Page = (await call<Page>(bob, 'GET', `/conversations/${group}/messages?limit=5&${query}`)).body;
      back.push(page.messages.map((x) => x.seq));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(back).toEqual([all.slice(0, 5), all.slice(5, 10), all.slice(10, 15), all.slice(15)]);

    const forward: number[][] = [];
    let since = -1;
    for (;;) {
      const page = (await call<Page>(bob, 'GET', `/conversations/${group}/messages?limit=5&since=${since}`)).body;
      forward.push(page.messages.map((x) => x.seq));
      if (page.nextCursor === null) break;
      since = page.nextCursor;
    }
    const oldestFirst = [...all].reverse();
    expect(forward).toEqual([oldestFirst.slice(0, 5), oldestFirst.slice(5, 10), oldestFirst.slice(10, 15), [30]]);
    // The kicked member pages the same way, up to her kick.
    const hers = await call<Page>(carol, 'GET', `/conversations/${group}/messages?limit=5&before=20`);
    expect(hers.body).toMatchObject({ nextCursor: 4 });
    expect(hers.body.messages.map((x) => x.seq)).toEqual([19, 7, 6, 5, 4]);
  });

  it('a group of carol’s: invited then accepted, joined by a link until it is revoked, left', async () => {
    const created = await call(carol, 'POST', '/conversations/groups', { name: 'book club' });
    expect(created.body).toMatchObject({ seq: 0 });
    club = created.body.conversationId;
    names.set(club, 'club');
    at = await say(carol, club, 'chapter one, anyone?', 1);
    // Each step: the club's row for alice, bob (null while not in it) and carol, first as the
    // newest activity; alice's and bob's other conversations do not change from here on.
    const clubRow = (unread: number, mentions: number, last: string): Row => ({ c: 'club', unread, mentions, last });
    const dmRow = { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' };
    const step = (a: Row | null, b: Row | null, c: Row) =>
      expectInboxes(at, {
        alice: [...(a ? [a] : []), dmRow, { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' }],
        bob: [...(b ? [b] : []), dmRow, { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' }],
        carol: [c],
      });
    await step(null, null, clubRow(0, 0, 'carol: chapter one, anyone?'));

    // An invitation is not membership: alice sees nothing of the club until she accepts.
    const invited = await call(carol, 'POST', `/conversations/${club}/invitations`, { userId: alice.userId });
    expect(invited.body).toMatchObject({ seq: 2 });
    at = invited.body.checkpoint!;
    expect((await call(alice, 'GET', `/conversations/${club}?after=${at}`)).status).toBe(404);
    expect((await send(alice, club, 'may I?')).status).toBe(404);
    // Nobody accepts an invitation they were not given.
    expect((await call(bob, 'POST', `/conversations/${club}/invitations/accept`)).status).toBe(404);
    await step(null, null, clubRow(0, 0, 'carol: chapter one, anyone?'));
    const accepted = await call(alice, 'POST', `/conversations/${club}/invitations/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ seq: 3 });
    at = accepted.body.checkpoint!;
    // What was said before she joined counts as read, and she may read it.
    await step(clubRow(0, 0, 'carol: chapter one, anyone?'), null, clubRow(0, 0, 'carol: chapter one, anyone?'));
    const before = await call<Page>(alice, 'GET', `/conversations/${club}/messages`);
    expect(before.body.messages.map((x) => [x.seq, x.text])).toEqual([[1, 'chapter one, anyone?']]);

    // Invitations and links are for admins; a link lets whoever holds its token in, until revoked.
    expect((await call(alice, 'POST', `/conversations/${club}/invitations`, { userId: bob.userId })).status).toBe(403);
    expect((await call(alice, 'POST', `/conversations/${club}/links`)).status).toBe(403);
    const link = await call<Answer & { token: string; linkId: string }>(carol, 'POST', `/conversations/${club}/links`);
    expect(link.status).toBe(201);
    expect(link.body).toMatchObject({ seq: 4 });
    const joined = await call(bob, 'POST', `/conversations/${club}/join`, { token: link.body.token });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ seq: 5 });
    at = joined.body.checkpoint!;
    await step(
      clubRow(0, 0, 'carol: chapter one, anyone?'),
      clubRow(0, 0, 'carol: chapter one, anyone?'),
      clubRow(0, 0, 'carol: chapter one, anyone?'),
    );
    const revoked = await call(carol, 'DELETE', `/conversations/${club}/links/${link.body.linkId}`);
    expect(revoked.body).toMatchObject({ seq: 6 });
    expect((await call(carol, 'DELETE', `/conversations/${club}/links/${link.body.linkId}`)).body).toMatchObject({
      seq: 6,
      checkpoint: null,
    });

    at = await say(alice, club, 'bob, chapter two is yours', 7, { mentions: { userIds: [bob.userId] } });
    await step(
      clubRow(0, 0, 'alice: bob, chapter two is yours'),
      clubRow(1, 1, 'alice: bob, chapter two is yours'),
      clubRow(1, 0, 'alice: bob, chapter two is yours'),
    );

    // Leaving: out of the inbox at once, unread mention and all; the owner may not leave.
    const left = await call(bob, 'POST', `/conversations/${club}/leave`);
    expect(left.status).toBe(200);
    expect(left.body).toMatchObject({ seq: 8 });
    at = left.body.checkpoint!;
    await step(
      clubRow(0, 0, 'alice: bob, chapter two is yours'),
      null,
      clubRow(1, 0, 'alice: bob, chapter two is yours'),
    );
    const ownerLeaves = await call(carol, 'POST', `/conversations/${club}/leave`);
    expect(ownerLeaves.status).toBe(409);
    expect(ownerLeaves.body).toMatchObject({ error: { code: 'CONVERSATION.OWNER_CANNOT_LEAVE' } });
    // The link was revoked: it does not bring him back.
    expect((await call(bob, 'POST', `/conversations/${club}/join`, { token: link.body.token })).status).toBe(404);
    expect((await send(bob, club, 'one more thing')).status).toBe(404);

    at = await say(carol, club, 'bye bob', 9);
    await step(clubRow(1, 0, 'carol: bye bob'), null, clubRow(0, 0, 'carol: bye bob'));
    // Who left keeps the history up to leaving, and nothing after.
    const his = await call<Page>(bob, 'GET', `/conversations/${club}/messages?after=${at}`);
    expect(his.body.messages.map((x) => x.seq)).toEqual([7, 1]);
  });

  it('dissolved: members keep the row, marked dissolved, and the history; nothing more is written', async () => {
    expect((await call(alice, 'DELETE', `/conversations/${club}`)).status).toBe(403);
    const dissolved = await call(carol, 'DELETE', `/conversations/${club}`);
    expect(dissolved.status).toBe(200);
    expect(dissolved.body).toMatchObject({ seq: 10 });
    at = dissolved.body.checkpoint!;
    // Dissolving is not a message: the counts and the last message stay.
    await expectInboxes(at, {
      alice: [
        { c: 'club', unread: 1, mentions: 0, last: 'carol: bye bob', dissolved: true },
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
      ],
      bob: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
      ],
      carol: [{ c: 'club', unread: 0, mentions: 0, last: 'carol: bye bob', dissolved: true }],
    });
    expect((await call(alice, 'GET', `/conversations/${club}`)).body).toMatchObject({
      dissolved: true,
      memberCount: 2,
    });

    // Nothing more is written, by the owner either; who left learns nothing of it.
    for (const who of [alice, carol]) {
      const refused = await send(who, club, 'anyone still here?');
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: { code: 'CONVERSATION.DISSOLVED' } });
    }
    expect((await call(carol, 'POST', `/conversations/${club}/invitations`, { userId: bob.userId })).status).toBe(409);
    expect((await call(carol, 'DELETE', `/conversations/${club}`)).status).toBe(409);
    expect((await send(bob, club, 'what happened?')).status).toBe(404);

    // The history stays readable, and reading it still clears the counts.
    const history = await call<Page>(alice, 'GET', `/conversations/${club}/messages`);
    expect(history.body.messages.map((x) => [x.seq, x.text])).toEqual([
      [9, 'bye bob'],
      [7, 'bob, chapter two is yours'],
      [1, 'chapter one, anyone?'],
    ]);
    at = await read(alice, club, 10);
    const [row] = await inboxOf(alice, at);
    expect(row).toStrictEqual({ c: 'club', unread: 0, mentions: 0, last: 'carol: bye bob', dissolved: true });

    // Leaving takes it out of the inbox, the owner's too; the history up to then stays readable.
    for (const who of [alice, carol]) {
      const left = await call(who, 'POST', `/conversations/${club}/leave`);
      expect(left.status).toBe(200);
      at = left.body.checkpoint!;
    }
    await expectInboxes(at, {
      alice: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 0, mentions: 0, last: 'alice: still fine here' },
      ],
      bob: [
        { c: 'dm', unread: 0, mentions: 0, last: 'alice: ' },
        { c: 'group', unread: 2, mentions: 0, last: 'alice: still fine here' },
      ],
      carol: [],
    });
    expect((await call<Page>(carol, 'GET', `/conversations/${club}/messages`)).body.messages).toHaveLength(3);
  });
});

// ---------------------------------------------------------------- helpers

interface Answer {
  conversationId: string;
  seq: number;
  checkpoint: string | null;
  messageId?: string;
}
interface Receipt {
  conversationId: string;
  upToSeq: number;
  checkpoint: string;
}
interface Profile {
  userId: string;
  displayName: string;
  statusText: string | null;
  avatarUrl: string | null;
}
interface Summary {
  conversationId: string;
  kind: string;
  name: string | null;
  role: string;
  muted: boolean;
  dissolved: boolean;
  messageCount: number;
  readSeq: number;
  unreadCount: number;
  mentionCount: number;
  lastMessage: {
    messageId: string;
    senderId: string;
    preview: string;
    deleted: boolean;
    attachmentCount: number;
  } | null;
}
interface Inbox {
  conversations: Summary[];
  nextCursor: string | null;
}
interface Message {
  seq: number;
  messageId: string;
  senderId: string;
  text: string;
  replyToMessageId: string | null;
  replyCount: number;
  mentions: { userIds: string[]; all: boolean };
  attachments: unknown[];
  reactions: Record<string, string[]>;
  editedAt: string | null;
  deleted: boolean;
}
interface Page {
  messages: Message[];
  nextCursor: number | null;
}
/** An inbox row as the steps check it: which conversation, the counts, `sender: preview`. */
interface Row {
  c: string | undefined;
  unread: number;
  mentions: number;
  last: string | null;
  /** Only on a dissolved group's row. */
  dissolved?: true;
}

async function call<T = Answer>(
  who: TestUser,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
): Promise<{ status: number; body: T }> {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: (response.body ? response.json() : undefined) as T };
}

const send = (who: TestUser, conversationId: string, text: string, extra: object = {}) =>
  call(who, 'POST', `/conversations/${conversationId}/messages`, { clientMessageId: randomUUID(), text, ...extra });

/** Sends a message that must land at `seq`; answers the checkpoint (and gives the message id to `keep`). */
async function say(
  who: TestUser,
  conversationId: string,
  text: string,
  seq: number,
  extra: object = {},
  keep: (messageId: string) => void = () => undefined,
): Promise<string> {
  const sent = await send(who, conversationId, text, extra);
  expect(sent.status, text).toBe(201);
  expect(sent.body.seq, text).toBe(seq);
  keep(sent.body.messageId!);
  return sent.body.checkpoint!;
}

async function read(who: TestUser, conversationId: string, upToSeq: number): Promise<string> {
  const answer = await call<Receipt>(who, 'POST', `/conversations/${conversationId}/read`, { upToSeq });
  expect(answer.status).toBe(200);
  return answer.body.checkpoint;
}

async function inboxOf(who: TestUser, after: string | null): Promise<Row[]> {
  const list = await call<Inbox>(who, 'GET', `/conversations${after ? `?after=${after}` : ''}`);
  expect(list.status).toBe(200);
  // Three users' few conversations: one page.
  expect(list.body.nextCursor).toBeNull();
  return list.body.conversations.map((r) => ({
    c: names.get(r.conversationId),
    unread: r.unreadCount,
    mentions: r.mentionCount,
    last: r.lastMessage ? `${names.get(r.lastMessage.senderId)}: ${r.lastMessage.preview}` : null,
    // Shown unless false: a missing flag shows as undefined, which toStrictEqual, unlike toEqual, tells from absent.
    ...(r.dissolved === false ? {} : { dissolved: r.dissolved }),
  }));
}

/** Every user's inbox, in order of last activity, once the read models reached `after`. */
async function expectInboxes(after: string | null, expected: Record<'alice' | 'bob' | 'carol', Row[]>) {
  for (const [name, who] of [
    ['alice', alice],
    ['bob', bob],
    ['carol', carol],
  ] as const) {
    expect(await inboxOf(who, after), `${name}'s inbox`).toStrictEqual(expected[name]);
  }
}

// ---------------------------------------------------------------- WebSocket

interface Frame {
  type: string;
  conversationId?: string;
  seq?: number;
  code?: string;
  event?: { type: string; data: Record<string, unknown>; actorId: string };
}

interface Socket {
  readonly frames: Frame[];
  send(frame: object): void;
  /** Resolves once `check` holds for the frames received, checked as each arrives. */
  until(what: string, check: (frames: Frame[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** `seq type` of each event frame of a conversation, in arrival order. */
const seen = (frames: Frame[], conversationId: string): string[] =>
  frames
    .filter((f) => f.type === 'event' && f.conversationId === conversationId)
    .map((f) => `${f.seq} ${f.event!.type}`);

async function connect(who: TestUser): Promise<Socket> {
  const ws = new WebSocket(`ws://${base}/ws`, { headers: { authorization: `Bearer ${who.token}` } });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    for (const wake of [...waiters]) wake();
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    until: (what, check, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no ${what} within ${timeoutMs} ms; frames: ${JSON.stringify(frames)}`));
        }, timeoutMs);
        const wake = (): void => {
          if (!check(frames)) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        };
        waiters.add(wake);
        wake();
      }),
    close: async () => {
      ws.close();
      await closed;
    },
  };
}
