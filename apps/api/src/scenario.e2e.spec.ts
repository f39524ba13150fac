/**
 * One story, three users, every feature: alice, bob and carol become contacts, talk in a
 * direct conversation and a group, mention, reply, edit, delete, react, attach, read, mute,
 * change roles, follow the group over WebSocket, get kicked and blocked, join by invitation
 * and by link, leave, and see a group dissolved. After each step the inbox of every user is
 * checked (unread and mention counts, last message, order by last activity, whether
 * dissolved), read right after the write with `?after=<checkpoint>`: no sleeping.
 * The steps share state and run in order; seqs are exact because nothing else writes to
 * these conversations. Every request goes through the typed client (test-client.ts).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { components, paths } from './client/schema.js';
import { signUp, testApp, type TestUser } from './test-app.js';
import { apiOf } from './test-client.js';

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
    const profile = await apiOf(app, alice).PATCH('/me', { body: { displayName: 'Alice', statusText: 'shipping' } });
    expect(profile.data).toMatchObject({ userId: alice.userId, displayName: 'Alice', statusText: 'shipping' });
    const seenByBob = await apiOf(app, bob).GET('/users/{userId}', { params: { path: { userId: alice.userId } } });
    expect(seenByBob.data).toMatchObject({
      displayName: 'Alice',
      statusText: 'shipping',
      avatarUrl: null,
    });

    const requested = await apiOf(app, alice).POST('/contacts/{userId}', { params: { path: { userId: bob.userId } } });
    expect(requested.data).toMatchObject({ status: 'requested' });
    const accepted = await apiOf(app, bob).POST('/contacts/{userId}/accept', {
      params: { path: { userId: alice.userId } },
    });
    expect(accepted.data).toMatchObject({ status: 'contacts' });
    await expectInboxes(null, { alice: [], bob: [], carol: [] });

    const started = await apiOf(app, alice).POST('/conversations/direct', { body: { userId: bob.userId } });
    expect(started.response.status).toBe(201);
    expect(started.data).toMatchObject({ seq: 0 });
    dm = started.data!.conversationId;
    names.set(dm, 'dm');
    at = started.data!.checkpoint!;
    // One per pair: again, from either side, the same conversation and nothing written.
    for (const [who, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const again = await apiOf(app, who).POST('/conversations/direct', { body: { userId: other.userId } });
      expect(again.data).toEqual({ conversationId: dm, seq: 0, checkpoint: null });
    }
    await expectInboxes(at, {
      alice: [{ c: 'dm', unread: 0, mentions: 0, last: null }],
      bob: [{ c: 'dm', unread: 0, mentions: 0, last: null }],
      carol: [],
    });
    // The contact events are older than the conversation: the directory has them by now.
    const contactsOf = async (who: TestUser) => (await apiOf(app, who).GET('/contacts')).data;
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
    const rows = await inboxAfter(bob, at);
    expect(rows.data?.conversations[0]).toMatchObject({
      kind: 'direct',
      name: null,
      role: 'member',
      messageCount: 4,
      readSeq: 4,
    });
  });

  it('a group: messages, mentions, @all (admins only), replies, edits, deletes, reactions, attachments, reads', async () => {
    const created = await apiOf(app, alice).POST('/conversations/groups', {
      body: { name: 'team', memberIds: [bob.userId, carol.userId] },
    });
    expect(created.response.status).toBe(201);
    group = created.data!.conversationId;
    names.set(group, 'group');
    at = created.data!.checkpoint!;
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
    expect(refused.response.status).toBe(403);
    expect(refused.error).toMatchObject({ error: { code: 'CONVERSATION.FORBIDDEN' } });
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
    const withAgenda = await inboxAfter(carol, at);
    expect(withAgenda.data?.conversations[0]?.lastMessage).toMatchObject({ deleted: false, attachmentCount: 1 });

    // Edits: the author only; the preview follows the last message's text.
    // (m.welcome, m.carolHi and m.agenda were kept by the say()s above, which checked their 201.)
    const message = (messageId: string) => ({ params: { path: { id: group, messageId } } });
    const notYours = await apiOf(app, bob).PATCH('/conversations/{id}/messages/{messageId}', {
      ...message(m.agenda!),
      body: { text: 'mine' },
    });
    expect(notYours.response.status).toBe(403);
    const edited = await apiOf(app, alice).PATCH('/conversations/{id}/messages/{messageId}', {
      ...message(m.agenda!),
      body: { text: 'agenda attached (v2)' },
    });
    expect(edited.data).toMatchObject({ seq: 8 });
    at = edited.data!.checkpoint!;
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    // Deletes: the author or an admin; a member may not delete another's message.
    const remove = (who: TestUser) =>
      apiOf(app, who).DELETE('/conversations/{id}/messages/{messageId}', message(m.carolHi!));
    expect((await remove(bob)).response.status).toBe(403);
    const deleted = await remove(alice);
    expect(deleted.data).toMatchObject({ seq: 9 });
    at = deleted.data!.checkpoint!;
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    // Reactions: one per emoji per user; adding twice or removing twice writes nothing.
    const reaction = (emoji: string) => ({ params: { path: { id: group, messageId: m.welcome!, emoji } } });
    const react = (who: TestUser, emoji: string) =>
      apiOf(app, who).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', reaction(emoji));
    const unreact = (who: TestUser, emoji: string) =>
      apiOf(app, who).DELETE('/conversations/{id}/messages/{messageId}/reactions/{emoji}', reaction(emoji));
    expect((await react(bob, '👍')).data).toMatchObject({ seq: 10 });
    expect((await react(bob, '👍')).data).toMatchObject({ seq: 10, checkpoint: null });
    expect((await react(carol, '👍')).data).toMatchObject({ seq: 11 });
    expect((await react(carol, '🎉')).data).toMatchObject({ seq: 12 });
    const unreacted = await unreact(bob, '👍');
    expect(unreacted.data).toMatchObject({ seq: 13 });
    expect((await unreact(bob, '👍')).data).toMatchObject({ seq: 13, checkpoint: null });
    at = unreacted.data!.checkpoint!;
    // Reacting is not reading, and a reaction is not a message.
    await step([0, 1, 5], [0, 0, 2], 'alice: agenda attached (v2)');

    const timeline = await messagesOf(alice, group, { after: at });
    expect(timeline.data?.nextCursor).toBeNull();
    expect(timeline.data?.messages.map((x) => [x.seq, x.text])).toEqual([
      [7, 'agenda attached (v2)'],
      [6, 'glad to be here'],
      [5, 'standup in 5'],
      [4, 'carol, can you share the deck?'],
      [3, 'thanks!'],
      [2, ''],
      [1, 'welcome, team'],
    ]);
    const bySeq = (seq: number) => timeline.data!.messages.find((x) => x.seq === seq)!;
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
    expect((await receipt(carol, 'read', group, 14)).response.status).toBe(400);
    at = await read(carol, group, 13);
    await step([0, 1, 0], [0, 0, 0], 'alice: agenda attached (v2)');
    at = await read(bob, group, 13);
    await step([0, 0, 0], [0, 0, 0], 'alice: agenda attached (v2)');

    // Delivery receipts are accepted up to the last seq, and are not reads.
    const delivered = await receipt(bob, 'delivered', group, 13);
    expect(delivered.response.status).toBe(200);
    expect(delivered.data).toMatchObject({ conversationId: group, upToSeq: 13 });
    expect((await receipt(bob, 'delivered', group, 99)).response.status).toBe(400);
    expect((await receipt(carol, 'delivered', dm, 1)).response.status).toBe(404);
    at = delivered.data!.checkpoint!;
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

    const inGroup = { params: { path: { id: group } } };
    const rename = await apiOf(app, carol).PATCH('/conversations/{id}', { ...inGroup, body: { name: 'carol’s' } });
    expect(rename.response.status).toBe(403);
    const changed = await apiOf(app, alice).PATCH('/conversations/{id}', {
      ...inGroup,
      body: { name: 'Launch team', description: 'Q3 launch', announcement: 'Ship on Friday' },
    });
    // A rename and a details change: two events, the answer is the last one's.
    expect(changed.data).toMatchObject({ seq: 15 });
    at = changed.data!.checkpoint!;
    const details = await apiOf(app, carol).GET('/conversations/{id}', {
      params: { path: { id: group }, query: { after: at } },
    });
    expect(details.data).toMatchObject({
      kind: 'group',
      name: 'Launch team',
      description: 'Q3 launch',
      announcement: 'Ship on Friday',
      dissolved: false,
      memberCount: 3,
    });
    // The members, by user id.
    const members = await apiOf(app, carol).GET('/conversations/{id}/members', inGroup);
    expect(members.data?.members).toEqual(
      [
        { userId: alice.userId, role: 'owner', silencedUntil: null },
        { userId: bob.userId, role: 'member', silencedUntil: null },
        { userId: carol.userId, role: 'member', silencedUntil: null },
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    // Renaming is not activity: the order stays.
    const full = async (who: TestUser) =>
      (await inboxAfter(who, at)).data?.conversations.map((r) => [
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

    const setRole = (who: TestUser, userId: string, role: 'admin' | 'member') =>
      apiOf(app, who).PUT('/conversations/{id}/members/{userId}/role', {
        params: { path: { id: group, userId } },
        body: { role },
      });
    expect((await setRole(carol, bob.userId, 'admin')).response.status).toBe(403);
    const promoted = await setRole(alice, bob.userId, 'admin');
    expect(promoted.data).toMatchObject({ seq: 16 });
    at = promoted.data!.checkpoint!;
    expect(await full(bob)).toEqual([
      ['dm', null, 'member', false, 1, 0],
      ['group', 'Launch team', 'admin', false, 0, 0],
    ]);
    const transferred = await apiOf(app, alice).POST('/conversations/{id}/owner', {
      ...inGroup,
      body: { userId: bob.userId },
    });
    expect(transferred.data).toMatchObject({ seq: 18 });
    at = transferred.data!.checkpoint!;
    expect((await full(alice))?.[1]).toEqual(['group', 'Launch team', 'admin', false, 0, 0]);
    expect((await full(bob))?.[1]).toEqual(['group', 'Launch team', 'owner', false, 0, 0]);
    // Only the owner changes roles now.
    expect((await setRole(alice, carol.userId, 'admin')).response.status).toBe(403);

    // Muting changes the flag, not the counts, nor the order.
    const muted = await mute(carol, group, { muted: true });
    expect(muted.data).toMatchObject({ muted: true, until: null });
    at = muted.data!.checkpoint!;
    expect(await full(carol)).toEqual([['group', 'Launch team', 'member', true, 0, 0]]);
    await say(alice, group, 'heads-up: demo moved', 19);
    at = await say(alice, group, 'carol, you present', 20, { mentions: { userIds: [carol.userId] } });
    expect(await full(carol)).toEqual([['group', 'Launch team', 'member', true, 2, 1]]);
    const unmuted = await mute(carol, group, { muted: false });
    expect(unmuted.data).toMatchObject({ muted: false });
    at = unmuted.data!.checkpoint!;
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
    at = (await mute(bob, dm, { muted: true, until: inAnHour })).data!.checkpoint!;
    expect((await full(bob))?.[1]).toEqual(['dm', null, 'member', true, 1, 0]);
    expect((await full(alice))?.[1]).toEqual(['dm', null, 'member', false, 0, 0]);
    const aMinuteAgo = new Date(Date.now() - 60_000).toISOString();
    const lapsed = await mute(bob, dm, { muted: true, until: aMinuteAgo });
    expect(lapsed.data).toMatchObject({ muted: true, until: aMinuteAgo });
    at = lapsed.data!.checkpoint!;
    expect((await full(bob))?.[1]).toEqual(['dm', null, 'member', false, 1, 0]);
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
    await mute(bob, group, { muted: true });
    await mute(bob, group, { muted: false });
    await apiOf(app, bob).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
      params: { path: { id: group, messageId: m.liveOne!, emoji: '👀' } },
    });
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
    await apiOf(app, bob).PATCH('/conversations/{id}/messages/{messageId}', {
      params: { path: { id: group, messageId: m.liveTwo! } },
      body: { text: 'live two, edited' },
    });
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
    const kick = (who: TestUser, userId: string) =>
      apiOf(app, who).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id: group, userId } } });
    expect((await kick(alice, bob.userId)).response.status).toBe(403);
    const kicked = await kick(alice, carol.userId);
    expect(kicked.data).toMatchObject({ seq: 28 });
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

    const history = await messagesOf(carol, group, { after: at });
    expect(history.data?.messages.map((x) => x.seq)).toEqual([27, 26, 24, 23, 21, 20, 19, 7, 6, 5, 4, 3, 2, 1]);
    const forward = await messagesOf(carol, group, { since: '27' });
    expect(forward.data).toEqual({ messages: [], nextCursor: null });
    const inGroup = { params: { path: { id: group } } };
    expect((await apiOf(app, carol).GET('/conversations/{id}', inGroup)).response.status).toBe(404);
    expect((await send(carol, group, 'let me back')).response.status).toBe(404);
    expect((await receipt(carol, 'read', group, 28)).response.status).toBe(404);
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
    const details = await apiOf(app, alice).GET('/conversations/{id}', inGroup);
    expect(details.data).toMatchObject({ memberCount: 2 });
    const members = await apiOf(app, alice).GET('/conversations/{id}/members', inGroup);
    expect(members.data?.members).toHaveLength(2);
  });

  it('a block: what the blocked one writes in the direct conversation is answered and withheld, until unblocked', async () => {
    const aliceByBob = { params: { path: { userId: alice.userId } } };
    expect((await apiOf(app, bob).PUT('/blocks/{userId}', aliceByBob)).response.status).toBe(200);
    // Answered as a send (the block is not revealed), and it reaches nobody: no count moves below.
    const blocked = await send(alice, dm, 'hello?');
    expect(blocked.response.status).toBe(201);
    expect((await send(carol, dm, 'hello?')).error).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    const direct = await apiOf(app, alice).POST('/conversations/direct', { body: { userId: bob.userId } });
    expect(direct.response.status).toBe(201);
    const contact = await apiOf(app, alice).POST('/contacts/{userId}', { params: { path: { userId: bob.userId } } });
    expect(contact.response.status).toBe(200);
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
    expect((await apiOf(app, bob).GET('/blocks')).data).toEqual({
      blocks: [{ userId: alice.userId }],
      nextCursor: null,
    });

    expect((await apiOf(app, bob).DELETE('/blocks/{userId}', aliceByBob)).response.status).toBe(200);
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
    expect((await apiOf(app, bob).GET('/blocks')).data).toEqual({ blocks: [], nextCursor: null });

    // Deleting the last message empties its preview; unread, it is no longer unread nor a mention.
    const unsaid = await apiOf(app, alice).DELETE('/conversations/{id}/messages/{messageId}', {
      params: { path: { id: dm, messageId: m.sorry! } },
    });
    expect(unsaid.data).toMatchObject({ seq: 8 });
    at = unsaid.data!.checkpoint!;
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
    const afterDelete = await inboxAfter(bob, at);
    expect(afterDelete.data?.conversations[0]?.lastMessage).toMatchObject({
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
      const query: MessagesQuery = cursor === null ? { after: at } : { before: String(cursor) };
      // Read without a status check, as this loop always has: a missing page fails right here.
      const page: Page = (await messagesOf(bob, group, { limit: '5', ...query })).data!;
      back.push(page.messages.map((x) => x.seq));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(back).toEqual([all.slice(0, 5), all.slice(5, 10), all.slice(10, 15), all.slice(15)]);

    const forward: number[][] = [];
    let since = -1;
    for (;;) {
      const page = (await messagesOf(bob, group, { limit: '5', since: String(since) })).data!;
      forward.push(page.messages.map((x) => x.seq));
      if (page.nextCursor === null) break;
      since = page.nextCursor;
    }
    const oldestFirst = [...all].reverse();
    expect(forward).toEqual([oldestFirst.slice(0, 5), oldestFirst.slice(5, 10), oldestFirst.slice(10, 15), [30]]);
    // The kicked member pages the same way, up to her kick.
    const hers = await messagesOf(carol, group, { limit: '5', before: '20' });
    expect(hers.data).toMatchObject({ nextCursor: 4 });
    expect(hers.data?.messages.map((x) => x.seq)).toEqual([19, 7, 6, 5, 4]);
  });

  it('a group of carol’s: invited then accepted, joined by a link until it is revoked, left', async () => {
    const created = await apiOf(app, carol).POST('/conversations/groups', { body: { name: 'book club' } });
    expect(created.data).toMatchObject({ seq: 0 });
    club = created.data!.conversationId;
    names.set(club, 'club');
    const inClub = { params: { path: { id: club } } };
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
    const invite = (who: TestUser, userId: string) =>
      apiOf(app, who).POST('/conversations/{id}/invitations', { ...inClub, body: { userId } });
    const invited = await invite(carol, alice.userId);
    expect(invited.data).toMatchObject({ seq: 2 });
    at = invited.data!.checkpoint!;
    const unseen = await apiOf(app, alice).GET('/conversations/{id}', {
      params: { path: { id: club }, query: { after: at } },
    });
    expect(unseen.response.status).toBe(404);
    expect((await send(alice, club, 'may I?')).response.status).toBe(404);
    // Nobody accepts an invitation they were not given.
    const acceptInvitation = (who: TestUser) => apiOf(app, who).POST('/conversations/{id}/invitations/accept', inClub);
    expect((await acceptInvitation(bob)).response.status).toBe(404);
    await step(null, null, clubRow(0, 0, 'carol: chapter one, anyone?'));
    const accepted = await acceptInvitation(alice);
    expect(accepted.response.status).toBe(200);
    expect(accepted.data).toMatchObject({ seq: 3 });
    at = accepted.data!.checkpoint!;
    // What was said before she joined counts as read, and she may read it.
    await step(clubRow(0, 0, 'carol: chapter one, anyone?'), null, clubRow(0, 0, 'carol: chapter one, anyone?'));
    const before = await messagesOf(alice, club);
    expect(before.data?.messages.map((x) => [x.seq, x.text])).toEqual([[1, 'chapter one, anyone?']]);

    // Invitations and links are for admins; a link lets whoever holds its token in, until revoked.
    expect((await invite(alice, bob.userId)).response.status).toBe(403);
    const createLink = (who: TestUser) => apiOf(app, who).POST('/conversations/{id}/links', inClub);
    expect((await createLink(alice)).response.status).toBe(403);
    const link = await createLink(carol);
    expect(link.response.status).toBe(201);
    expect(link.data).toMatchObject({ seq: 4 });
    const { token, linkId } = link.data!;
    const join = (who: TestUser) => apiOf(app, who).POST('/conversations/{id}/join', { ...inClub, body: { token } });
    const joined = await join(bob);
    expect(joined.response.status).toBe(200);
    expect(joined.data).toMatchObject({ seq: 5 });
    at = joined.data!.checkpoint!;
    await step(
      clubRow(0, 0, 'carol: chapter one, anyone?'),
      clubRow(0, 0, 'carol: chapter one, anyone?'),
      clubRow(0, 0, 'carol: chapter one, anyone?'),
    );
    const revoke = () =>
      apiOf(app, carol).DELETE('/conversations/{id}/links/{linkId}', { params: { path: { id: club, linkId } } });
    const revoked = await revoke();
    expect(revoked.data).toMatchObject({ seq: 6 });
    expect((await revoke()).data).toMatchObject({
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
    const leave = (who: TestUser) => apiOf(app, who).POST('/conversations/{id}/leave', inClub);
    const left = await leave(bob);
    expect(left.response.status).toBe(200);
    expect(left.data).toMatchObject({ seq: 8 });
    at = left.data!.checkpoint!;
    await step(
      clubRow(0, 0, 'alice: bob, chapter two is yours'),
      null,
      clubRow(1, 0, 'alice: bob, chapter two is yours'),
    );
    const ownerLeaves = await leave(carol);
    expect(ownerLeaves.response.status).toBe(409);
    expect(ownerLeaves.error).toMatchObject({ error: { code: 'CONVERSATION.OWNER_CANNOT_LEAVE' } });
    // The link was revoked: it does not bring him back.
    expect((await join(bob)).response.status).toBe(404);
    expect((await send(bob, club, 'one more thing')).response.status).toBe(404);

    at = await say(carol, club, 'bye bob', 9);
    await step(clubRow(1, 0, 'carol: bye bob'), null, clubRow(0, 0, 'carol: bye bob'));
    // Who left keeps the history up to leaving, and nothing after.
    const his = await messagesOf(bob, club, { after: at });
    expect(his.data?.messages.map((x) => x.seq)).toEqual([7, 1]);
  });

  it('dissolved: members keep the row, marked dissolved, and the history; nothing more is written', async () => {
    const inClub = { params: { path: { id: club } } };
    const dissolve = (who: TestUser) => apiOf(app, who).DELETE('/conversations/{id}', inClub);
    expect((await dissolve(alice)).response.status).toBe(403);
    const dissolved = await dissolve(carol);
    expect(dissolved.response.status).toBe(200);
    expect(dissolved.data).toMatchObject({ seq: 10 });
    at = dissolved.data!.checkpoint!;
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
    expect((await apiOf(app, alice).GET('/conversations/{id}', inClub)).data).toMatchObject({
      dissolved: true,
      memberCount: 2,
    });

    // Nothing more is written, by the owner either; who left learns nothing of it.
    for (const who of [alice, carol]) {
      const refused = await send(who, club, 'anyone still here?');
      expect(refused.response.status).toBe(409);
      expect(refused.error).toMatchObject({ error: { code: 'CONVERSATION.DISSOLVED' } });
    }
    const invited = await apiOf(app, carol).POST('/conversations/{id}/invitations', {
      ...inClub,
      body: { userId: bob.userId },
    });
    expect(invited.response.status).toBe(409);
    expect((await dissolve(carol)).response.status).toBe(409);
    expect((await send(bob, club, 'what happened?')).response.status).toBe(404);

    // The history stays readable, and reading it still clears the counts.
    const history = await messagesOf(alice, club);
    expect(history.data?.messages.map((x) => [x.seq, x.text])).toEqual([
      [9, 'bye bob'],
      [7, 'bob, chapter two is yours'],
      [1, 'chapter one, anyone?'],
    ]);
    at = await read(alice, club, 10);
    const [row] = await inboxOf(alice, at);
    expect(row).toStrictEqual({ c: 'club', unread: 0, mentions: 0, last: 'carol: bye bob', dissolved: true });

    // Leaving takes it out of the inbox, the owner's too; the history up to then stays readable.
    for (const who of [alice, carol]) {
      const left = await apiOf(app, who).POST('/conversations/{id}/leave', inClub);
      expect(left.response.status).toBe(200);
      at = left.data!.checkpoint!;
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
    expect((await messagesOf(carol, club)).data?.messages).toHaveLength(3);
  });
});

// ---------------------------------------------------------------- helpers

type SendBody = paths['/conversations/{id}/messages']['post']['requestBody']['content']['application/json'];
type MessagesQuery = NonNullable<paths['/conversations/{id}/messages']['get']['parameters']['query']>;
type MuteBody = paths['/conversations/{id}/mute']['put']['requestBody']['content']['application/json'];
type Page = components['schemas']['Messages'];

/** An inbox row as the steps check it: which conversation, the counts, `sender: preview`. */
interface Row {
  c: string | undefined;
  unread: number;
  mentions: number;
  last: string | null;
  /** Only on a dissolved group's row. */
  dissolved?: true;
}

const send = (who: TestUser, id: string, text: string, extra: Omit<SendBody, 'clientMessageId' | 'text'> = {}) =>
  apiOf(app, who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text, ...extra },
  });

/** Sends a message that must land at `seq`; answers the checkpoint (and gives the message id to `keep`). */
async function say(
  who: TestUser,
  conversationId: string,
  text: string,
  seq: number,
  extra: Omit<SendBody, 'clientMessageId' | 'text'> = {},
  keep: (messageId: string) => void = () => undefined,
): Promise<string> {
  const sent = await send(who, conversationId, text, extra);
  expect(sent.response.status, text).toBe(201);
  expect(sent.data!.seq, text).toBe(seq);
  keep(sent.data!.messageId);
  return sent.data!.checkpoint!;
}

/** A read (or delivery) receipt up to `upToSeq`. */
const receipt = (who: TestUser, kind: 'read' | 'delivered', id: string, upToSeq: number) =>
  kind === 'read'
    ? apiOf(app, who).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq } })
    : apiOf(app, who).POST('/conversations/{id}/delivered', { params: { path: { id } }, body: { upToSeq } });

async function read(who: TestUser, conversationId: string, upToSeq: number): Promise<string> {
  const answer = await receipt(who, 'read', conversationId, upToSeq);
  expect(answer.response.status).toBe(200);
  return answer.data!.checkpoint!;
}

const mute = (who: TestUser, id: string, body: MuteBody) =>
  apiOf(app, who).PUT('/conversations/{id}/mute', { params: { path: { id } }, body });

/** A page of a conversation's timeline as `who` sees it. */
const messagesOf = (who: TestUser, id: string, query: MessagesQuery = {}) =>
  apiOf(app, who).GET('/conversations/{id}/messages', { params: { path: { id }, query } });

/** `who`'s inbox once the read models reached `after`. */
const inboxAfter = (who: TestUser, after: string) =>
  apiOf(app, who).GET('/conversations', { params: { query: { after } } });

async function inboxOf(who: TestUser, after: string | null): Promise<Row[]> {
  const list = await apiOf(app, who).GET('/conversations', { params: { query: after ? { after } : {} } });
  expect(list.response.status).toBe(200);
  // Three users' few conversations: one page.
  expect(list.data!.nextCursor).toBeNull();
  return list.data!.conversations.map((r) => ({
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
