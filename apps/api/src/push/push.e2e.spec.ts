import { eventually, freshDatabase } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogger } from '@herald/nest';
import { parkMembership, signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, dataOf } from '../test-client.js';
import {
  handshake as refused,
  hangUp,
  listen,
  openSocket,
  type Frame,
  type PresenceFrameUser as Presence,
  type TestSocket as Socket,
} from '../test-socket.js';
import { STALE_BEATS } from './presence.js';
import { ConversationService } from '@herald/conversations';
import { WebSocket } from 'ws';
import { CLOSE } from './frames.js';
import {
  CATCH_UP_PAGE,
  CATCH_UP_USER_BURST_BYTES,
  CATCH_UP_USER_BYTES_PER_SECOND,
  MAX_CATCH_UP,
  MAX_PAYLOAD,
  MAX_PRESENCE_USERS,
  MAX_SYNC_CONVERSATIONS,
  MAX_SOCKETS_PER_USER,
  MAX_WAITING_FRAMES,
  PRESENCE_FRAMES_BURST,
  SYNC_REFUSALS_PER_TOKEN,
} from './limits.js';
import { resolveParkedEvent } from '@herald/projection-runtime';
import { holdBlockWrites } from '@herald/projections/testing';
import { DataSource } from 'typeorm';
import { MAX_STALENESS_MS } from '../projections.service.js';

/** Two API nodes on one database (node A is `app`), beating fast so that a dead node is found in seconds. */
const HEARTBEAT_MS = 1_000;
const env = {
  WS_ALLOWED_ORIGINS: 'https://chat.example.com',
  PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
  WS_HEARTBEAT_MS: String(HEARTBEAT_MS),
};
let databaseUrl: string;
let app: NestFastifyApplication;
let nodeB: NestFastifyApplication;
let base: string;
let baseB: string;
let sql: pg.Client;

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  app = await testApp(env, databaseUrl);
  nodeB = await testApp(env, databaseUrl);
  [base, baseB] = await Promise.all([listen(app), listen(nodeB)]);
  sql = new pg.Client({ connectionString: databaseUrl });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await Promise.all([app?.close(), nodeB?.close()]);
});

type User = TestUser;

const user = (name: string): Promise<TestUser> => signUp(app, name);

/** A group of `owner` (on `node`, node A unless told) and `members`. */
async function newGroup(owner: User, members: User[], node = app) {
  return dataOf(
    await apiOf(node, owner).POST('/conversations/groups', {
      body: { name: 'g', memberIds: members.map((m) => m.userId) },
    }),
  );
}

/** A group of `owner` and `members`, once the read models have it (presence is decided from them). */
async function group(owner: User, members: User[]): Promise<string> {
  const created = await newGroup(owner, members);
  const read = await apiOf(app, owner).GET('/conversations/{id}', {
    params: { path: { id: created.conversationId }, query: { after: created.checkpoint! } },
  });
  expect(read.response.status).toBe(200);
  return created.conversationId;
}

const say = (who: User, id: string, text: string) =>
  apiOf(app, who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text },
  });

/** `who` removes `member` from the conversation. */
const kickOut = (who: User, id: string, member: User) =>
  apiOf(app, who).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: member.userId } } });

/** `count` messages from `who`, written through the command side at once (no HTTP, no rate limit). */
async function flood(who: User, id: string, count: number, text: (i: number) => string): Promise<void> {
  const conversations = app.get(ConversationService);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      conversations.execute(
        id,
        {
          type: 'SendMessage',
          actorId: who.userId,
          messageId: randomUUID(),
          clientMessageId: randomUUID(),
          text: text(i),
          mentions: { userIds: [], all: false },
          attachments: [],
          now: new Date(),
        },
        { actorId: who.userId, correlationId: randomUUID(), now: new Date() },
      ),
    ),
  );
}

/** A socket to node A unless told. */
const connect = (who: User, headers: Record<string, string> = {}, node = base): Promise<Socket> =>
  openSocket(node, who.token, headers);

async function synced(socket: Socket, conversationId: string): Promise<void> {
  socket.ws.send(JSON.stringify({ type: 'sync', conversations: { [conversationId]: 0 } }));
  await eventually(() => socket.frames.some((f) => f.type === 'synced' && f.conversationId === conversationId));
}

/** Who the socket was told is typing in the conversation, in order. */
const typists = (socket: Socket, conversationId: string): string[] =>
  socket.frames.filter((f) => f.type === 'typing' && f.conversationId === conversationId).map((f) => f.userId!);

/** Watches `userIds`; resolves with the answer (the first presence frame naming them all, in order). */
async function watch(socket: Socket, userIds: string[]): Promise<Presence[]> {
  const from = socket.frames.length;
  const asked = [...new Set(userIds)].join();
  const answer = (): Frame | undefined =>
    socket.frames.slice(from).find((f) => f.type === 'presence' && f.users!.map((u) => u.userId).join() === asked);
  socket.send({ type: 'presence', userIds });
  await eventually(() => answer() !== undefined);
  return answer()!.users!;
}

/** Everything the socket was told about a user's presence, in order. */
const presenceOf = (socket: Socket, userId: string): Presence[] =>
  socket.frames.flatMap((f) => (f.type === 'presence' ? f.users!.filter((u) => u.userId === userId) : []));
const presenceNow = (socket: Socket, userId: string): Presence | undefined => presenceOf(socket, userId).at(-1);

const seqs = (frames: Frame[], id: string): number[] =>
  frames.filter((f) => f.type === 'event' && f.conversationId === id).map((f) => f.seq!);

describe('WebSocket push', () => {
  it('refuses the unauthenticated and origins not allowed, during the handshake', async () => {
    const bob = await user('bob');
    expect(await refused(`ws://${base}/ws`, {})).toBe(401);
    expect(await refused(`ws://${base}/ws`, { authorization: 'Bearer nope' })).toBe(401);
    expect(
      await refused(`ws://${base}/ws`, { authorization: `Bearer ${bob.token}`, origin: 'https://evil.example' }),
    ).toBe(403);
    expect(
      await refused(`ws://${base}/ws`, { authorization: `Bearer ${bob.token}`, origin: 'https://chat.example.com' }),
    ).toBe(101);
    expect(await refused(`ws://${base}/ws?access_token=${bob.token}`, {})).toBe(101);
    expect(await refused(`ws://${base}/nope`, { authorization: `Bearer ${bob.token}` })).toBe(404);
  });

  it('catches up from the last seq, then goes live, with no gap and no duplicate at the seam', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const group = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'live', memberIds: [bob.userId] } }),
    );
    const id = group.conversationId;
    for (const i of [1, 2, 3]) await say(ada, id, `before ${i}`);
    const bobSocket = await connect(bob);
    // While bob's sync catches up, ada keeps talking: the seam must hold.
    const talking = Promise.all([4, 5, 6, 7].map((i) => say(ada, id, `during ${i}`)));
    bobSocket.ws.send(JSON.stringify({ type: 'sync', conversations: { [id]: 1 } }));
    await talking;
    // The group was created at seq 0: messages are 1..7.
    await eventually(() => seqs(bobSocket.frames, id).at(-1) === 7);
    expect(seqs(bobSocket.frames, id)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(bobSocket.frames.some((f) => f.type === 'synced' && f.conversationId === id)).toBe(true);
    await say(ada, id, 'live');
    await eventually(() => seqs(bobSocket.frames, id).at(-1) === 8);
    expect(seqs(bobSocket.frames, id)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    bobSocket.ws.close();
  });

  it('stops pushing to a kicked member at once; a revoked session closes its socket', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const group = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'kick', memberIds: [bob.userId] } }),
    );
    const id = group.conversationId;
    const adaSocket = await connect(ada);
    const bobSocket = await connect(bob);
    for (const s of [adaSocket, bobSocket]) s.ws.send(JSON.stringify({ type: 'sync', conversations: { [id]: 0 } }));
    await eventually(() => [adaSocket, bobSocket].every((s) => s.frames.some((f) => f.type === 'synced')));

    bobSocket.ws.send(JSON.stringify({ type: 'typing', conversationId: id }));
    await eventually(() => adaSocket.frames.some((f) => f.type === 'typing' && f.userId === bob.userId));

    await kickOut(ada, id, bob);
    await eventually(() => bobSocket.frames.some((f) => f.event?.type === 'MemberKicked'));
    await say(ada, id, 'bob cannot see this');
    await eventually(() => adaSocket.frames.some((f) => f.event?.data.text === 'bob cannot see this'));
    await new Promise((r) => setTimeout(r, 300));
    expect(bobSocket.frames.some((f) => f.event?.data.text === 'bob cannot see this')).toBe(false);
    // Nor can bob subscribe again.
    bobSocket.ws.send(JSON.stringify({ type: 'sync', conversations: { [id]: 0 } }));
    await eventually(() => bobSocket.frames.some((f) => f.type === 'error' && f.code === 'CONVERSATION.NOT_FOUND'));

    const started = Date.now();
    await apiOf(app, bob).POST('/auth/sign-out');
    expect(await bobSocket.closed).toBe(CLOSE.sessionRevoked);
    expect(Date.now() - started).toBeLessThan(1_000);
    adaSocket.ws.close();
  });

  it('a member who was kicked and came back catches up across the kick, then live; a new kick ends it', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    await say(ada, id, 'one'); // 1
    await kickOut(ada, id, bob); // 2
    await say(ada, id, 'while away'); // 3
    await apiOf(app, ada).POST('/conversations/{id}/invitations', {
      params: { path: { id } },
      body: { userId: bob.userId },
    }); // 4
    await apiOf(app, bob).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }); // 5
    await say(ada, id, 'welcome back'); // 6
    const bobSocket = await connect(bob);
    bobSocket.send({ type: 'sync', conversations: { [id]: 0 } });
    await eventually(() => bobSocket.frames.some((f) => f.type === 'synced' && f.conversationId === id));
    // History is shared with members: the kick is history now, not the end of the subscription.
    expect(seqs(bobSocket.frames, id)).toEqual([1, 2, 3, 4, 5, 6]);
    await say(ada, id, 'live'); // 7
    await eventually(() => seqs(bobSocket.frames, id).at(-1) === 7);
    await kickOut(ada, id, bob); // 8
    await eventually(() => seqs(bobSocket.frames, id).at(-1) === 8);
    const adaSocket = await connect(ada);
    await synced(adaSocket, id);
    await say(ada, id, 'gone again'); // 9
    await eventually(() => seqs(adaSocket.frames, id).at(-1) === 9);
    expect(seqs(bobSocket.frames, id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await Promise.all([hangUp(bobSocket), hangUp(adaSocket)]);
  });

  it('a client claiming seqs that do not exist yet goes on from the last one, and a kick still ends it', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    await say(ada, id, 'one'); // 1
    const bobSocket = await connect(bob);
    bobSocket.send({ type: 'sync', conversations: { [id]: 50 } });
    await eventually(() => bobSocket.frames.some((f) => f.type === 'synced' && f.conversationId === id));
    expect(bobSocket.frames.find((f) => f.type === 'synced')).toMatchObject({ seq: 1 });
    await say(ada, id, 'two'); // 2
    await kickOut(ada, id, bob); // 3
    const adaSocket = await connect(ada);
    await synced(adaSocket, id);
    await say(ada, id, 'bob is gone'); // 4
    await eventually(() => seqs(adaSocket.frames, id).at(-1) === 4);
    expect(seqs(bobSocket.frames, id)).toEqual([2, 3]);
    await Promise.all([hangUp(bobSocket), hangUp(adaSocket)]);
  });

  it('too much missed: resync with the seq to reload from, never a partial history; then live', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    await flood(ada, id, MAX_CATCH_UP + 1, (i) => `missed ${i}`);
    const bobSocket = await connect(bob);
    bobSocket.send({ type: 'sync', conversations: { [id]: 0 } });
    await eventually(() => bobSocket.frames.some((f) => f.type === 'synced' && f.conversationId === id));
    expect(bobSocket.frames.filter((f) => f.conversationId === id).map((f) => [f.type, f.seq])).toEqual([
      ['resync', MAX_CATCH_UP + 1],
      ['synced', MAX_CATCH_UP + 1],
    ]);
    await say(ada, id, 'live');
    await eventually(() => seqs(bobSocket.frames, id).length === 1);
    expect(seqs(bobSocket.frames, id)).toEqual([MAX_CATCH_UP + 2]);
    await hangUp(bobSocket);
  });

  it('a consumer that does not read is disconnected, and the others and the server carry on', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    const [adaSocket, bobSocket] = await Promise.all([connect(ada), connect(bob)]);
    await Promise.all([synced(adaSocket, id), synced(bobSocket, id)]);
    // bob's client stops reading: the kernel's buffers fill, then the server's (1 MiB).
    (bobSocket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const count = 1_000;
    await flood(ada, id, count, (i) => `${i} ${'x'.repeat(15_000)}`);
    await eventually(() => seqs(adaSocket.frames, id).length === count, 30_000);
    (bobSocket.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    // 4008 with its reason ("reconnect and sync") when the client reads it in time, 1006 when
    // it was cut off first; either way before everything was pushed to it.
    expect([CLOSE.slowConsumer, 1006]).toContain(await bobSocket.closed);
    expect(seqs(bobSocket.frames, id).length).toBeLessThan(count);
    expect(seqs(adaSocket.frames, id)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect((await apiOf(app).GET('/health')).response.status).toBe(200);
    await hangUp(adaSocket);
  });

  it('heartbeats: a client that does not answer pings is dropped; one that does stays', async () => {
    const bob = await user('bob');
    const answering = await connect(bob);
    const silent = new WebSocket(`ws://${base}/ws`, {
      headers: { authorization: `Bearer ${bob.token}` },
      autoPong: false,
    });
    silent.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => silent.on('close', (code) => resolve(code)));
    const started = Date.now();
    expect(await closed).toBe(1006);
    expect(Date.now() - started).toBeLessThan(3 * HEARTBEAT_MS + 1_000);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    await hangUp(answering);
  });

  it('bad frames get an error frame; an oversized frame closes the socket; the server stays up', async () => {
    const bob = await user('bob');
    const socket = await connect(bob);
    socket.ws.send('not json');
    socket.ws.send(JSON.stringify({ type: 'sync', conversations: { 'not-a-uuid': 1 } }));
    socket.ws.send('{"type":"sync","conversations":{},"__proto__":{"polluted":true}}');
    socket.ws.send(JSON.stringify({ type: 'typing', conversationId: randomUUID() }));
    await eventually(() => socket.frames.filter((f) => f.type === 'error').length === 4);
    const tooMany = Array.from({ length: MAX_PRESENCE_USERS + 1 }, () => randomUUID());
    socket.ws.send(JSON.stringify({ type: 'presence', userIds: tooMany }));
    await eventually(() => socket.frames.some((f) => f.code === 'PUSH.TOO_MANY'));
    for (let i = 0; i <= PRESENCE_FRAMES_BURST; i++) socket.ws.send(JSON.stringify({ type: 'presence', userIds: [] }));
    await eventually(() => socket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
    socket.ws.send('x'.repeat(MAX_PAYLOAD + 1));
    expect(await socket.closed).toBe(1009);
    expect((await apiOf(app).GET('/health')).response.status).toBe(200);
  });
});

describe('typing and presence across API nodes on one database', () => {
  it('relays typing from a member on node B to one on node A and back, at most one a second per conversation', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const [first, second] = await Promise.all([group(ada, [bob]), group(ada, [bob])]);
    const adaOnA = await connect(ada);
    const bobOnB = await connect(bob, {}, baseB);
    const bobOnA = await connect(bob);
    for (const id of [first, second]) {
      await Promise.all([synced(adaOnA, id), synced(bobOnB, id), synced(bobOnA, id)]);
    }
    for (let i = 0; i < 3; i++) bobOnB.ws.send(JSON.stringify({ type: 'typing', conversationId: first }));
    // Sent after the three, on the same path: once it is there, whatever the three gave is too.
    bobOnB.ws.send(JSON.stringify({ type: 'typing', conversationId: second }));
    await eventually(() => typists(adaOnA, second).length === 1);
    expect(typists(adaOnA, first)).toEqual([bob.userId]);
    // The typist's own sockets are not told.
    expect(typists(bobOnA, first)).toEqual([]);

    adaOnA.ws.send(JSON.stringify({ type: 'typing', conversationId: first }));
    await eventually(() => typists(bobOnB, first).length === 1);
    expect(typists(bobOnB, first)).toEqual([ada.userId]);
    await Promise.all([adaOnA, bobOnB, bobOnA].map(hangUp));
  });

  it('presence: online when a user connects on node B, offline with last seen when their last socket anywhere closes, seen from node A', async () => {
    const [ada, bob, carol, dan] = await Promise.all([user('ada'), user('bob'), user('carol'), user('dan')]);
    await group(ada, [bob, carol, dan]);
    const adaOnA = await connect(ada);
    const nobody = randomUUID();
    expect(await watch(adaOnA, [bob.userId, carol.userId, dan.userId, nobody, bob.userId])).toEqual([
      { userId: bob.userId, online: false, lastSeenAt: null },
      { userId: carol.userId, online: false, lastSeenAt: null },
      { userId: dan.userId, online: false, lastSeenAt: null },
      { userId: nobody, online: false, lastSeenAt: null },
    ]);

    const bobOnB = await connect(bob, {}, baseB);
    await eventually(() => presenceNow(adaOnA, bob.userId)?.online === true);
    const bobAgainOnB = await connect(bob, {}, baseB);
    const bobOnA = await connect(bob);
    // Markers: each node writes its changes in order and node A reads them in order, so once
    // carol (on A) and then dan (on B) show online, whatever bob's sockets did before them shows too.
    const carolOnA = await connect(carol);
    await eventually(() => presenceNow(adaOnA, carol.userId)?.online === true);
    await Promise.all([hangUp(bobOnB), hangUp(bobAgainOnB)]);
    const danOnB = await connect(dan, {}, baseB);
    await eventually(() => presenceNow(adaOnA, dan.userId)?.online === true);
    // bob still has a socket on node A: never offline meanwhile.
    expect(presenceOf(adaOnA, bob.userId).map((p) => p.online)).toEqual([false, true]);

    const before = Date.now();
    await hangUp(bobOnA);
    await eventually(() => presenceNow(adaOnA, bob.userId)?.online === false);
    const lastSeen = Date.parse(presenceNow(adaOnA, bob.userId)!.lastSeenAt!);
    expect(lastSeen).toBeGreaterThanOrEqual(before - 1_000);
    expect(lastSeen).toBeLessThanOrEqual(Date.now() + 1_000);
    // A new watch starts from the state now.
    expect(await watch(adaOnA, [bob.userId])).toEqual([
      { userId: bob.userId, online: false, lastSeenAt: new Date(lastSeen).toISOString() },
    ]);
    await Promise.all([adaOnA, carolOnA, danOnB].map(hangUp));
  });

  it('a node that stops takes its users offline at once', async () => {
    const [ada, erin] = await Promise.all([user('ada'), user('erin')]);
    await group(ada, [erin]);
    const nodeC = await testApp(env, databaseUrl);
    const baseC = await listen(nodeC);
    const adaOnA = await connect(ada);
    await watch(adaOnA, [erin.userId]);
    const erinOnC = await connect(erin, {}, baseC);
    await eventually(() => presenceNow(adaOnA, erin.userId)?.online === true);
    const stopping = Date.now();
    await nodeC.close();
    expect(await erinOnC.closed).toBe(1001);
    await eventually(() => presenceNow(adaOnA, erin.userId)?.online === false);
    // Not by the dead-node path, which waits for the heartbeat to go stale.
    expect(Date.now() - stopping).toBeLessThan(STALE_BEATS * HEARTBEAT_MS);
    await hangUp(adaOnA);
  });

  it('a node that died without cleaning up: its users go offline once its heartbeat is stale', async () => {
    const [ada, frank] = await Promise.all([user('ada'), user('frank')]);
    await group(ada, [frank]);
    // What a node killed with frank connected leaves behind: its heartbeat row and frank's.
    const deadNode = randomUUID();
    const beat = await sql.query<{ at: Date }>(
      'INSERT INTO presence_nodes (node_id, heartbeat_at) VALUES ($1, now()) RETURNING heartbeat_at AS at',
      [deadNode],
    );
    await sql.query('INSERT INTO presence_connections (user_id, node_id) VALUES ($1, $2)', [frank.userId, deadNode]);
    const adaOnA = await connect(ada);
    expect(await watch(adaOnA, [frank.userId])).toEqual([{ userId: frank.userId, online: true, lastSeenAt: null }]);

    await eventually(() => presenceNow(adaOnA, frank.userId)?.online === false);
    expect(presenceNow(adaOnA, frank.userId)!.lastSeenAt).toBe(beat.rows[0]!.at.toISOString());
    // Found dead and removed by a live node.
    const left = await sql.query('SELECT 1 FROM presence_connections WHERE node_id = $1', [deadNode]);
    expect(left.rowCount).toBe(0);
    await hangUp(adaOnA);
  });

  it('a live node taken for dead writes its users again at its next heartbeat', async () => {
    const [ada, gina] = await Promise.all([user('ada'), user('gina')]);
    await group(ada, [gina]);
    const ginaOnB = await connect(gina, {}, baseB);
    const rowsOf = async (userId: string) =>
      (
        await sql.query<{ node: string }>('SELECT node_id AS node FROM presence_connections WHERE user_id = $1', [
          userId,
        ])
      ).rows;
    await eventually(async () => (await rowsOf(gina.userId)).length === 1);
    const nodeIdB = (await rowsOf(gina.userId))[0]!.node;
    // What another node does to one it finds stale (node B paused too long, say).
    await sql.query('BEGIN');
    await sql.query('DELETE FROM presence_nodes WHERE node_id = $1', [nodeIdB]);
    await sql.query('DELETE FROM presence_connections WHERE node_id = $1', [nodeIdB]);
    await sql.query('COMMIT');
    await eventually(async () => (await rowsOf(gina.userId)).some((row) => row.node === nodeIdB));
    const adaOnA = await connect(ada);
    expect(await watch(adaOnA, [gina.userId])).toEqual([{ userId: gina.userId, online: true, lastSeenAt: null }]);
    await Promise.all([adaOnA, ginaOnB].map(hangUp));
  });

  it('a node whose listening connection was cut listens again, and reads again what it watches', async () => {
    const [ada, bob, carol] = await Promise.all([user('ada'), user('bob'), user('carol')]);
    const id = await group(ada, [bob, carol]);
    const adaOnA = await connect(ada);
    const bobOnB = await connect(bob, {}, baseB);
    await Promise.all([synced(adaOnA, id), synced(bobOnB, id)]);
    await watch(adaOnA, [carol.userId]);
    const cut = await sql.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'herald-signals' AND datname = current_database()`,
    );
    expect(cut.rowCount).toBe(2);
    // While node A is not listening, its hint of carol is lost: it reads her again once back.
    const carolOnB = await connect(carol, {}, baseB);
    await eventually(() => presenceNow(adaOnA, carol.userId)?.online === true);
    await eventually(() => {
      bobOnB.send({ type: 'typing', conversationId: id });
      return typists(adaOnA, id).length > 0;
    });
    await Promise.all([adaOnA, bobOnB, carolOnB].map(hangUp));
  });

  it('a user who leaves the only conversation they shared with a watcher is hidden from them from their next change on', async () => {
    const [ada, ivy] = await Promise.all([user('ada'), user('ivy')]);
    const id = await group(ada, [ivy]);
    const adaOnA = await connect(ada);
    await watch(adaOnA, [ivy.userId]);
    const ivyOnB = await connect(ivy, {}, baseB);
    await eventually(() => presenceNow(adaOnA, ivy.userId)?.online === true);
    const left = dataOf(await apiOf(app, ivy).POST('/conversations/{id}/leave', { params: { path: { id } } }));
    // Her leaving has reached the read models.
    const read = await apiOf(app, ada).GET('/conversations', { params: { query: { after: left.checkpoint! } } });
    expect(read.response.status).toBe(200);
    await hangUp(ivyOnB);
    await eventually(() => presenceNow(adaOnA, ivy.userId)?.online === false);
    expect(presenceNow(adaOnA, ivy.userId)).toEqual({ userId: ivy.userId, online: false, lastSeenAt: null });
    expect(await watch(adaOnA, [ivy.userId])).toEqual([{ userId: ivy.userId, online: false, lastSeenAt: null }]);
    await hangUp(adaOnA);
  });

  it('a user who blocks a watcher is hidden from them from their next change on', async () => {
    const [ada, hank] = await Promise.all([user('ada'), user('hank')]);
    await group(ada, [hank]);
    const adaOnA = await connect(ada);
    await watch(adaOnA, [hank.userId]);
    const hankOnB = await connect(hank, {}, baseB);
    await eventually(() => presenceNow(adaOnA, hank.userId)?.online === true);
    await apiOf(app, hank).PUT('/blocks/{userId}', { params: { path: { userId: ada.userId } } });
    await eventually(async () => {
      const blocks = dataOf(await apiOf(app, hank).GET('/blocks'));
      return blocks.blocks.some((b) => b.userId === ada.userId);
    });
    await hangUp(hankOnB);
    await eventually(() => presenceNow(adaOnA, hank.userId)?.online === false);
    // Not "offline since …": what an unknown user looks like.
    expect(presenceNow(adaOnA, hank.userId)).toEqual({ userId: hank.userId, online: false, lastSeenAt: null });
    expect(await watch(adaOnA, [hank.userId])).toEqual([{ userId: hank.userId, online: false, lastSeenAt: null }]);
    await hangUp(adaOnA);
  });
});

describe('membership is checked before anything is pushed, under races', () => {
  /** Sends `frame` to `socket` every `everyMs` until `stop()`; never more than a few waiting. */
  function keepSending(socket: Socket, frame: object, everyMs: number): () => void {
    const timer = setInterval(() => {
      if (socket.ws.readyState === WebSocket.OPEN && socket.ws.bufferedAmount === 0) socket.send(frame);
    }, everyMs);
    return () => clearInterval(timer);
  }

  it('an outsider flooding sync frames for a group and a DM while members type on both nodes receives no typing frame', async () => {
    const [ada, bob, carol, eve] = await Promise.all([user('ada'), user('bob'), user('carol'), user('eve')]);
    const id = await group(ada, [bob, carol]);
    const dm = dataOf(
      await apiOf(app, ada).POST('/conversations/direct', { body: { userId: bob.userId } }),
    ).conversationId;
    const members = await Promise.all([
      connect(ada),
      connect(ada, {}, baseB),
      connect(bob),
      connect(bob, {}, baseB),
      connect(carol),
      connect(carol, {}, baseB),
    ]);
    for (const s of members) await synced(s, id);
    for (const s of members.slice(0, 4)) await synced(s, dm);
    // The outsider, on both nodes, names both conversations again and again.
    const outsiders = await Promise.all([connect(eve), connect(eve, {}, baseB)]);
    const stops = [
      ...outsiders.flatMap((s) => [id, dm].map((c) => keepSending(s, { type: 'sync', conversations: { [c]: -1 } }, 1))),
      ...members.map((s) => keepSending(s, { type: 'typing', conversationId: id }, 20)),
      ...members.slice(0, 4).map((s) => keepSending(s, { type: 'typing', conversationId: dm }, 20)),
    ];
    await new Promise((r) => setTimeout(r, 3_500));
    stops.forEach((stop) => stop());
    // Typing flowed meanwhile (members told each other), and none of it reached the outsider.
    expect(typists(members[0], id).length).toBeGreaterThan(5);
    expect(typists(members[0], dm).length).toBeGreaterThan(2);
    for (const s of outsiders) expect(s.frames.filter((f) => f.type === 'typing')).toEqual([]);
    expect(outsiders[0].frames.some((f) => f.code === 'CONVERSATION.NOT_FOUND')).toBe(true);
    await Promise.all([...members, ...outsiders].map(hangUp));
  });

  it('a member kicked while typing: their typing stops reaching the others, and they get nothing after their kick', async () => {
    const [ada, bob, carol] = await Promise.all([user('ada'), user('bob'), user('carol')]);
    const id = await group(ada, [bob, carol]);
    const adaOnB = await connect(ada, {}, baseB);
    const [bobOnA, carolOnA] = await Promise.all([connect(bob), connect(carol)]);
    for (const s of [adaOnB, bobOnA, carolOnA]) await synced(s, id);
    const stops = [adaOnB, bobOnA, carolOnA].map((s) => keepSending(s, { type: 'typing', conversationId: id }, 20));
    await eventually(() => typists(adaOnB, id).includes(bob.userId) && typists(bobOnA, id).includes(ada.userId));
    await kickOut(ada, id, bob);
    const kickedAt = Date.now();
    const seenAt = [adaOnB, carolOnA].map((s) => s.frames.length);
    // Typing crosses nodes on another path than events: give what was in flight at the kick time to land.
    await new Promise((r) => setTimeout(r, 300));
    const settled = [adaOnB, carolOnA].map((s) => s.frames.length);
    await new Promise((r) => setTimeout(r, 2_500));
    stops.forEach((stop) => stop());
    expect(Date.now() - kickedAt).toBeGreaterThan(2_500);
    // bob: his kick, then nothing of the conversation.
    const kick = bobOnA.frames.findIndex((f) => f.event?.type === 'MemberKicked');
    expect(kick).toBeGreaterThanOrEqual(0);
    // (His own typing frames are refused from then on, as an outsider's.)
    expect(bobOnA.frames.slice(kick + 1).filter((f) => f.conversationId === id && f.type !== 'error')).toEqual([]);
    // The others: still each other's typing, never bob's any more.
    for (const [i, s] of [adaOnB, carolOnA].entries()) {
      const after = s.frames.slice(settled[i]).filter((f) => f.type === 'typing');
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((f) => f.userId === bob.userId)).toEqual([]);
      expect(seenAt[i]).toBeLessThanOrEqual(settled[i]!);
    }
    await Promise.all([adaOnB, bobOnA, carolOnA].map(hangUp));
  });
});

describe('sync: its limits and budgets', () => {
  it('a sync naming exactly 1,000 conversations with the largest seqs fits a frame and is answered; 1,001 get PUSH.TOO_MANY, and the socket stays open', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    const socket = await connect(bob);
    const others = Array.from({ length: MAX_SYNC_CONVERSATIONS - 1 }, () => randomUUID());
    const frame = JSON.stringify({
      type: 'sync',
      conversations: Object.fromEntries([id, ...others].map((c) => [c, Number.MAX_SAFE_INTEGER])),
    });
    // Far more than the 16 KiB frames were before.
    expect(Buffer.byteLength(frame)).toBeGreaterThan(50_000);
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(MAX_PAYLOAD);
    socket.send(frame);
    await eventually(() => socket.frames.filter((f) => f.code === 'CONVERSATION.NOT_FOUND').length === others.length);
    expect(socket.frames.find((f) => f.type === 'synced')).toMatchObject({ conversationId: id, seq: 0 });
    socket.send({ type: 'sync', conversations: Object.fromEntries([id, ...others, randomUUID()].map((c) => [c, 0])) });
    await eventually(() => socket.frames.some((f) => f.code === 'PUSH.TOO_MANY'));
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    await say(ada, id, 'still live');
    await eventually(() => seqs(socket.frames, id).includes(1));
    await hangUp(socket);
  });

  it('at 100 frames waiting the socket is not read until they are handled: the rest are dropped, answered once a pause, and the socket goes on', async () => {
    const bob = await user('bob');
    const socket = await connect(bob);
    // Sent in one go: each costs a state read, so they pile up.
    for (let i = 0; i < 300; i++) socket.send({ type: 'sync', conversations: { [randomUUID()]: 0 } });
    await eventually(() => socket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
    const probe = randomUUID();
    await new Promise((r) => setTimeout(r, 500));
    socket.send({ type: 'typing', conversationId: probe });
    await eventually(() => socket.frames.some((f) => f.conversationId === probe));
    // Answered once per pause: the 300 frames can fill the queue again after it drained,
    // depending on how much of them the socket had read when it paused (1 to 3 pauses).
    const answered = socket.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED').length;
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(answered).toBeLessThanOrEqual(3);
    const refused = socket.frames.filter((f) => f.code === 'CONVERSATION.NOT_FOUND').length;
    expect(refused).toBeGreaterThanOrEqual(MAX_WAITING_FRAMES);
    expect(refused).toBeLessThan(301);
    await hangUp(socket);
  });

  it('catch-up bytes are budgeted per user: two sockets replaying large messages are slowed down, and another user syncing meanwhile is not kept waiting', async () => {
    const [ada, bob, carol] = await Promise.all([user('ada'), user('bob'), user('carol')]);
    const big = await group(ada, [bob]);
    const small = await group(ada, [carol]);
    const count = 150;
    await flood(ada, big, count, (i) => `${i} ${'x'.repeat(15_000)}`);
    // The node's live follower must have passed the flood before bob syncs: otherwise (a
    // loaded machine) what it has not pushed yet reaches bob live, which no budget paces.
    // It follows the log in order, so a later event pushed live to a watcher says it has.
    const watcher = await connect(ada);
    watcher.send({ type: 'sync', conversations: { [small]: 0 } });
    await eventually(() => watcher.frames.some((f) => f.type === 'synced'));
    await say(ada, small, 'hello');
    await eventually(() => watcher.frames.some((f) => f.event?.type === 'MessageSent'));
    await hangUp(watcher);
    const bobs = await Promise.all([connect(bob), connect(bob)]);
    const carolSocket = await connect(carol);
    const bytes = { total: 0 };
    for (const s of bobs) s.ws.on('message', (data: Buffer) => (bytes.total += data.length));
    const started = Date.now();
    for (const s of bobs) s.send({ type: 'sync', conversations: { [big]: 0 } });
    await new Promise((r) => setTimeout(r, 100));
    const carolStarted = Date.now();
    carolSocket.send({ type: 'sync', conversations: { [small]: 0 } });
    await eventually(() => carolSocket.frames.some((f) => f.type === 'synced'));
    const carolWaited = Date.now() - carolStarted;
    await eventually(() => bobs.every((s) => s.frames.some((f) => f.type === 'synced')), 30_000);
    const elapsed = (Date.now() - started) / 1000;
    // Everything arrived, in order, on both sockets...
    for (const s of bobs) expect(seqs(s.frames, big)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    // ...no faster than the user's budget allows (its burst, plus a page per socket charged after it was sent).
    const page = CATCH_UP_PAGE * 16_000;
    expect(bytes.total).toBeGreaterThan(2 * count * 15_000);
    expect(bytes.total).toBeLessThanOrEqual(
      CATCH_UP_USER_BURST_BYTES + 2 * page + elapsed * CATCH_UP_USER_BYTES_PER_SECOND,
    );
    // Carol's catch-up took its turn among bob's pages, not after them.
    expect(carolWaited).toBeLessThan(1_000);
    expect(elapsed).toBeGreaterThan(1);
    await Promise.all([...bobs, carolSocket].map(hangUp));
  });

  it('sync frames (and junk) count in the user rate limit shared with REST: past it, PUSH.RATE_LIMITED with retryAfterSeconds; an outsider costs no log line per frame', async () => {
    const lines: Record<string, unknown>[] = [];
    // 2 a second in bursts of 6.
    const limited = await testApp(
      { RATE_LIMIT_USER_PER_SECOND: '2' },
      undefined,
      new JsonLogger('warn', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    );
    try {
      const address = await listen(limited);
      const [ada, eve] = await Promise.all([signUp(limited, 'ada'), signUp(limited, 'eve')]);
      const created = await apiOf(limited, ada).POST('/conversations/groups', { body: { name: 'g' } });
      const id = dataOf(created).conversationId;
      const [adaSocket, eveSocket] = await Promise.all([
        openSocket(address, ada.token),
        openSocket(address, eve.token),
      ]);
      // ada spends her budget over REST: her next sync is refused with when to come back.
      const me = () => apiOf(limited, ada).GET('/me');
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await me()).response.status);
      expect(statuses).toContain(429);
      adaSocket.send({ type: 'sync', conversations: { [id]: 0 } });
      await eventually(() => adaSocket.frames.length > 0);
      expect(adaSocket.frames).toMatchObject([{ type: 'error', code: 'PUSH.RATE_LIMITED', retryAfterSeconds: 1 }]);
      // And the other way round: eve's syncs spend it, a frame each; past it one answer says
      // when to come back, and her socket is not read until then (the rest wait, unanswered).
      for (let i = 0; i < 12; i++) eveSocket.send({ type: 'sync', conversations: { [id]: 0 } });
      await eventually(() => eveSocket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
      await new Promise((r) => setTimeout(r, 300));
      expect(eveSocket.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED')).toHaveLength(1);
      expect(eveSocket.frames.length).toBeLessThan(10);
      // eve was refused every time she got through, and that was logged once.
      expect(eveSocket.frames.filter((f) => f.code === 'CONVERSATION.NOT_FOUND').length).toBeGreaterThan(1);
      expect(lines.filter((l) => l.msg === 'authorization refused: CONVERSATION.NOT_FOUND')).toHaveLength(1);
      // Junk costs a request too: parsed at the user's rate, not the network's.
      const mallory = await signUp(limited, 'mallory');
      const malloSocket = await openSocket(address, mallory.token);
      for (let i = 0; i < 12; i++) malloSocket.send('not json');
      await eventually(() => malloSocket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
      await new Promise((r) => setTimeout(r, 300));
      expect(malloSocket.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED')).toHaveLength(1);
      expect(malloSocket.frames.filter((f) => f.code === 'PUSH.INVALID_FRAME').length).toBeLessThanOrEqual(7);
      await hangUp(malloSocket);
      // Past the wait, ada syncs again.
      await new Promise((r) => setTimeout(r, 1_100));
      adaSocket.send({ type: 'sync', conversations: { [id]: 0 } });
      await eventually(() => adaSocket.frames.some((f) => f.type === 'synced'));
      await Promise.all([adaSocket, eveSocket].map(hangUp));
    } finally {
      await limited.close();
    }
  });
});

describe('socket lifetime', () => {
  it('a socket closes with 4002 when its access token expires, unless the client sent a fresh one in an auth frame', async () => {
    // Tokens carry whole seconds: one issued now expires in 2 to 3 s.
    const short = await testApp({ ACCESS_TOKEN_TTL_SECONDS: '3' });
    try {
      const address = await listen(short);
      const registered = await apiOf(short).POST('/auth/register', {
        body: { username: `bob${randomUUID().slice(0, 8)}`, password: 'password-1', displayName: 'bob' },
      });
      const tokens = dataOf(registered);
      const other = await signUp(short, 'eve');
      const [expiring, renewed] = await Promise.all([
        openSocket(address, tokens.accessToken),
        openSocket(address, tokens.accessToken),
      ]);
      const opened = Date.now();
      // Not another user's token: refused, and the socket keeps its expiry.
      expiring.send({ type: 'auth', accessToken: other.token });
      await eventually(() => expiring.frames.some((f) => f.code === 'AUTH.INVALID_TOKEN'));
      await new Promise((r) => setTimeout(r, 1_500));
      const refreshed = await apiOf(short).POST('/auth/refresh', { body: { refreshToken: tokens.refreshToken } });
      const fresh = dataOf(refreshed).accessToken;
      renewed.send({ type: 'auth', accessToken: fresh });
      await eventually(() => renewed.frames.some((f) => f.type === 'authenticated'));
      expect(await expiring.closed).toBe(CLOSE.tokenExpired);
      expect(Date.now() - opened).toBeLessThan(3_300);
      expect(renewed.ws.readyState).toBe(WebSocket.OPEN);
      // The fresh token expires in its turn.
      expect(await renewed.closed).toBe(CLOSE.tokenExpired);
      expect(Date.now() - opened).toBeGreaterThan(3_300);
    } finally {
      await short.close();
    }
  });
});

describe('handshakes and the per-IP rate limit', () => {
  it('a handshake counts against its IP as a request does: past the budget, 429 with Retry-After', async () => {
    // 1 a second in bursts of 3: the sign-up takes one, two handshakes the rest.
    const limited = await testApp({ RATE_LIMIT_IP_PER_SECOND: '1' });
    try {
      const address = await listen(limited);
      const bob = await signUp(limited, 'bob');
      const answers: { status: number; retryAfter?: string }[] = [];
      for (let i = 0; i < 3; i++) {
        answers.push(
          await new Promise((resolve) => {
            const ws = new WebSocket(`ws://${address}/ws`, { headers: { authorization: `Bearer ${bob.token}` } });
            ws.on('unexpected-response', (_, response) =>
              resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] }),
            );
            ws.on('open', () => {
              resolve({ status: 101 });
              ws.close();
            });
            ws.on('error', () => undefined);
          }),
        );
      }
      expect(answers).toEqual([{ status: 101 }, { status: 101 }, { status: 429, retryAfter: '1' }]);
    } finally {
      await limited.close();
    }
  });
});

describe('presence fails closed while a read model it is decided from is stopped', () => {
  it('a member kicked while membership is stopped: no change reaches them, a presence frame answers PUSH.UNAVAILABLE; once it runs, they see nothing and the others get what was withheld', async () => {
    const own = await testApp(env);
    try {
      const address = await listen(own);
      const [ada, kim, bob] = await Promise.all([signUp(own, 'ada'), signUp(own, 'kim'), signUp(own, 'bob')]);
      const created = await newGroup(ada, [kim, bob], own);
      const id = created.conversationId;
      const read = await apiOf(own, ada).GET('/conversations/{id}', {
        params: { path: { id }, query: { after: created.checkpoint! } },
      });
      expect(read.response.status).toBe(200);
      const [kimWatching, kimAsking, adaWatching] = await Promise.all([
        openSocket(address, kim.token),
        openSocket(address, kim.token),
        openSocket(address, ada.token),
      ]);
      expect(await watch(kimWatching, [bob.userId])).toEqual([{ userId: bob.userId, online: false, lastSeenAt: null }]);
      expect(await watch(adaWatching, [bob.userId])).toEqual([{ userId: bob.userId, online: false, lastSeenAt: null }]);

      // A bug's event parks membership (no request can any more: read-models.e2e.spec.ts).
      await parkMembership(own, id, ada.userId);
      const membership = async (): Promise<string | undefined> => {
        // 200 when ready, 503 (the same report) while a projection is not.
        const { data, error } = await apiOf(own).GET('/health');
        const report = data ?? (error !== undefined && 'projections' in error ? error : undefined);
        return report?.projections.find((p) => p.name === 'membership.v1')?.state;
      };
      await expect.poll(membership, { timeout: 15_000 }).toBe('stopped');
      const kicked = await apiOf(own, ada).DELETE('/conversations/{id}/members/{userId}', {
        params: { path: { id, userId: kim.userId } },
      });
      expect(kicked.response.status).toBe(200);

      // bob comes online: the stale read model still says kim shares a group with him.
      const bobSocket = await openSocket(address, bob.token);
      kimAsking.send({ type: 'presence', userIds: [bob.userId] });
      await eventually(() => kimAsking.frames.length > 0);
      expect(kimAsking.frames).toMatchObject([{ type: 'error', code: 'PUSH.UNAVAILABLE' }]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(presenceOf(kimWatching, bob.userId).some((p) => p.online)).toBe(false);
      expect(presenceOf(adaWatching, bob.userId).some((p) => p.online)).toBe(false);

      // Membership runs again: ada is told what was withheld, kim sees bob as no one.
      expect(await resolveParkedEvent(own.get(DataSource), 'membership.v1', 'skip')).toBe(true);
      await expect.poll(membership, { timeout: 15_000 }).toBe('running');
      await eventually(() => presenceNow(adaWatching, bob.userId)?.online === true, 10_000);
      await eventually(() => presenceOf(kimWatching, bob.userId).length > 1, 10_000);
      expect(presenceOf(kimWatching, bob.userId).some((p) => p.online)).toBe(false);
      expect(await watch(kimAsking, [bob.userId])).toEqual([{ userId: bob.userId, online: false, lastSeenAt: null }]);
      await Promise.all([kimWatching, kimAsking, adaWatching, bobSocket].map(hangUp));
    } finally {
      await own.close();
    }
  });
});

describe('presence fails closed while the directory read model is behind', () => {
  it('a block not applied for longer than the staleness bound: a presence frame answers PUSH.UNAVAILABLE and no change reaches the blocked watcher; once applied, they see nothing', async () => {
    const databaseUrl = await freshDatabase();
    const own = await testApp(env, databaseUrl);
    const lock = new pg.Client({ connectionString: databaseUrl });
    await lock.connect();
    try {
      const address = await listen(own);
      const [ada, bob] = await Promise.all([signUp(own, 'ada'), signUp(own, 'bob')]);
      const created = await newGroup(ada, [bob], own);
      const read = await apiOf(own, ada).GET('/conversations/{id}', {
        params: { path: { id: created.conversationId }, query: { after: created.checkpoint! } },
      });
      expect(read.response.status).toBe(200);
      const [bobWatching, bobAsking] = await Promise.all([
        openSocket(address, bob.token),
        openSocket(address, bob.token),
      ]);
      expect(await watch(bobWatching, [ada.userId])).toEqual([{ userId: ada.userId, online: false, lastSeenAt: null }]);

      // The reviewer's repro: the directory cannot write blocks, so ada's block waits
      // unapplied (held under PostgreSQL's 10 s idle-in-transaction limit).
      await lock.query('BEGIN');
      await holdBlockWrites(lock);
      expect(
        (await apiOf(own, ada).PUT('/blocks/{userId}', { params: { path: { userId: bob.userId } } })).response.status,
      ).toBe(200);
      await new Promise((r) => setTimeout(r, MAX_STALENESS_MS + 500));
      const adaSocket = await openSocket(address, ada.token);
      bobAsking.send({ type: 'presence', userIds: [ada.userId] });
      await eventually(() => bobAsking.frames.length > 0);
      expect(bobAsking.frames).toMatchObject([{ type: 'error', code: 'PUSH.UNAVAILABLE' }]);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(presenceOf(bobWatching, ada.userId).some((p) => p.online)).toBe(false);

      await lock.query('COMMIT');
      await eventually(() => presenceOf(bobWatching, ada.userId).length > 1, 10_000);
      expect(presenceOf(bobWatching, ada.userId).some((p) => p.online)).toBe(false);
      expect(await watch(bobAsking, [ada.userId])).toEqual([{ userId: ada.userId, online: false, lastSeenAt: null }]);
      await Promise.all([bobWatching, bobAsking, adaSocket].map(hangUp));
    } finally {
      await lock.end();
      await own.close();
    }
  });
});

describe('what one user may cost: sockets, presence and refused sync ids', () => {
  it(`at most ${MAX_SOCKETS_PER_USER} sockets per user on an instance: the next handshake is refused with 429 until one closes`, async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const sockets = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_USER }, () => connect(ada)));
    const url = `ws://${base}/ws`;
    expect(await refused(url, { authorization: `Bearer ${ada.token}` })).toBe(429);
    // Per user: another is not affected, nor is ada on another instance.
    expect(await refused(url, { authorization: `Bearer ${bob.token}` })).toBe(101);
    expect(await refused(`ws://${baseB}/ws`, { authorization: `Bearer ${ada.token}` })).toBe(101);
    await hangUp(sockets.pop()!);
    expect(await refused(url, { authorization: `Bearer ${ada.token}` })).toBe(101);
    await Promise.all(sockets.map(hangUp));
  });

  it('presence frames and the ids a sync names that are refused count in the user rate limit', async () => {
    // 5 a second in bursts of 15.
    const limited = await testApp({ RATE_LIMIT_USER_PER_SECOND: '5' });
    try {
      const address = await listen(limited);
      const [eve, ivy] = await Promise.all([signUp(limited, 'eve'), signUp(limited, 'ivy')]);
      // A sync of 1,000 ids of no conversation: 10 tokens, then one per 10 refused; the
      // remaining 5 (and what refills meanwhile) buy about 50 refusals, and the rest of the
      // sync is not done: a stream read per id, not 1,000 for 10 tokens.
      const eveSocket = await openSocket(address, eve.token);
      eveSocket.send({
        type: 'sync',
        conversations: Object.fromEntries(Array.from({ length: MAX_SYNC_CONVERSATIONS }, () => [randomUUID(), 0])),
      });
      await eventually(() => eveSocket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
      await new Promise((r) => setTimeout(r, 300));
      const refusedIds = eveSocket.frames.filter((f) => f.code === 'CONVERSATION.NOT_FOUND').length;
      expect(refusedIds).toBeGreaterThanOrEqual(5 * SYNC_REFUSALS_PER_TOKEN);
      expect(refusedIds).toBeLessThanOrEqual(15 * SYNC_REFUSALS_PER_TOKEN);
      // Presence frames of 200 ids: 2 tokens each, within the socket's own burst of frames.
      const ivySocket = await openSocket(address, ivy.token);
      const ids = Array.from({ length: MAX_PRESENCE_USERS }, () => randomUUID());
      for (let i = 0; i < PRESENCE_FRAMES_BURST; i++) ivySocket.send({ type: 'presence', userIds: ids });
      await eventually(() => ivySocket.frames.some((f) => f.code === 'PUSH.RATE_LIMITED'));
      await new Promise((r) => setTimeout(r, 300));
      expect(ivySocket.frames.filter((f) => f.type === 'presence').length).toBeLessThanOrEqual(8);
      expect(ivySocket.frames.find((f) => f.code === 'PUSH.RATE_LIMITED')).toMatchObject({ retryAfterSeconds: 1 });
      await Promise.all([eveSocket, ivySocket].map(hangUp));
    } finally {
      await limited.close();
    }
  });
});

describe('ids are case-insensitive', () => {
  it('a sync, a typing and a presence frame naming ids in capitals are about the same conversation and user', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = await group(ada, [bob]);
    const [adaSocket, bobSocket] = await Promise.all([connect(ada), connect(bob)]);
    await synced(adaSocket, id);
    bobSocket.send({ type: 'sync', conversations: { [id.toUpperCase()]: 0 } });
    await eventually(() => bobSocket.frames.some((f) => f.type === 'synced'));
    expect(bobSocket.frames).toMatchObject([{ type: 'synced', conversationId: id, seq: 0 }]);
    bobSocket.send({ type: 'typing', conversationId: id.toUpperCase() });
    await eventually(() => typists(adaSocket, id).includes(bob.userId));
    bobSocket.send({ type: 'presence', userIds: [ada.userId.toUpperCase()] });
    await eventually(() => bobSocket.frames.some((f) => f.type === 'presence'));
    // Answered with the id as Herald writes it.
    expect(bobSocket.frames.find((f) => f.type === 'presence')!.users).toEqual([
      { userId: ada.userId, online: true, lastSeenAt: null },
    ]);
    await Promise.all([adaSocket, bobSocket].map(hangUp));
  });
});

describe('every frame counts in the user rate limit, refusals included; past a limit, one answer and a pause', () => {
  const lines: Record<string, unknown>[] = [];
  let limited: NestFastifyApplication;
  let address: string;
  beforeAll(async () => {
    // 5 a second in bursts of 15.
    limited = await testApp(
      { RATE_LIMIT_USER_PER_SECOND: '5' },
      undefined,
      new JsonLogger('warn', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    );
    address = await listen(limited);
  });
  afterAll(async () => {
    await limited?.close();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A flooder hangs up at once: its close frame would wait behind what the paused socket has not read. */
  const cut = async (socket: Socket): Promise<void> => {
    socket.ws.terminate();
    await socket.closed;
  };
  const codes = (sockets: Socket[], code: string): number =>
    sockets.reduce((sum, s) => sum + s.frames.filter((f) => f.code === code).length, 0);

  /**
   * Sends `frame` from every socket as fast as they take it for `ms`, while another user
   * calls REST; answers the slowest of those calls (ms), once the answers have settled.
   */
  async function flooding(sockets: Socket[], frame: string, ms = 2_000): Promise<number> {
    const bystander = await signUp(limited, 'bystander');
    const until = Date.now() + ms;
    let slowest = 0;
    const rest = (async () => {
      while (Date.now() < until) {
        const started = Date.now();
        const { response } = await apiOf(limited, bystander).GET('/me');
        expect(response.status).toBe(200);
        slowest = Math.max(slowest, Date.now() - started);
        await sleep(100);
      }
    })();
    while (Date.now() < until) {
      for (const s of sockets) {
        for (let i = 0; i < 10 && s.ws.bufferedAmount < 256 * 1024; i++) s.ws.send(frame);
      }
      await sleep(5);
    }
    await rest;
    await sleep(300);
    return slowest;
  }

  it('a flood of syncs naming 1,001 ids from 4 sockets: each is charged, PUSH.TOO_MANY a bounded number of times, PUSH.RATE_LIMITED once a pause', async () => {
    const eve = await signUp(limited, 'eve');
    const sockets = await Promise.all(Array.from({ length: 4 }, () => openSocket(address, eve.token)));
    const frame = JSON.stringify({
      type: 'sync',
      conversations: Object.fromEntries(Array.from({ length: MAX_SYNC_CONVERSATIONS + 1 }, () => [randomUUID(), 0])),
    });
    const slowest = await flooding(sockets, frame);
    // 11 tokens each: the burst and 2 s of refill buy 2 or 3 of them, not thousands.
    expect(codes(sockets, 'PUSH.TOO_MANY')).toBeGreaterThanOrEqual(1);
    expect(codes(sockets, 'PUSH.TOO_MANY')).toBeLessThanOrEqual(5);
    expect(codes(sockets, 'PUSH.RATE_LIMITED')).toBeGreaterThanOrEqual(1);
    // Once a pause: pauses of a second or more over about 2.3 s, each maybe followed by one
    // for the backlog read when the socket resumed (100 frames waiting).
    for (const s of sockets)
      expect(s.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED').length).toBeLessThanOrEqual(6);
    for (const s of sockets) expect(s.ws.readyState).toBe(WebSocket.OPEN);
    expect(slowest).toBeLessThan(1_000);
    await Promise.all(sockets.map(cut));
  });

  it('a flood of typing for conversations not synced from 4 sockets: CONVERSATION.NOT_FOUND at the user rate, PUSH.RATE_LIMITED once a pause', async () => {
    const mallory = await signUp(limited, 'mallory');
    const sockets = await Promise.all(Array.from({ length: 4 }, () => openSocket(address, mallory.token)));
    const slowest = await flooding(sockets, JSON.stringify({ type: 'typing', conversationId: randomUUID() }));
    // The burst of 15 and about 2.3 s at 5 a second (before: one answer per frame, 178k in 5 s).
    expect(codes(sockets, 'CONVERSATION.NOT_FOUND')).toBeGreaterThanOrEqual(10);
    expect(codes(sockets, 'CONVERSATION.NOT_FOUND')).toBeLessThanOrEqual(35);
    expect(codes(sockets, 'PUSH.RATE_LIMITED')).toBeGreaterThanOrEqual(1);
    // Once a pause: pauses of a second or more over about 2.3 s, each maybe followed by one
    // for the backlog read when the socket resumed (100 frames waiting).
    for (const s of sockets)
      expect(s.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED').length).toBeLessThanOrEqual(6);
    expect(slowest).toBeLessThan(1_000);
    await Promise.all(sockets.map(cut));
  });

  it('a flood of presence frames past the socket limit: answered PUSH.RATE_LIMITED once a pause, not per frame', async () => {
    const ivy = await signUp(limited, 'ivy');
    const socket = await openSocket(address, ivy.token);
    const slowest = await flooding([socket], JSON.stringify({ type: 'presence', userIds: [ivy.userId] }));
    const limitedAnswers = socket.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED');
    expect(limitedAnswers.length).toBeGreaterThanOrEqual(1);
    expect(limitedAnswers.length).toBeLessThanOrEqual(6);
    // The rate limit's answer says when to come back. On a slow machine the backlog's answer
    // (100 frames waiting, no retry time) can come first: the order of the two is not promised.
    expect(limitedAnswers).toContainEqual(expect.objectContaining({ retryAfterSeconds: 1 }));
    // Within the socket's burst of 10 and its 5 a second (and the user's 5 a second).
    expect(socket.frames.length - limitedAnswers.length).toBeLessThanOrEqual(30);
    expect(slowest).toBeLessThan(1_000);
    await cut(socket);
  });

  it('a flood of typing on a synced conversation: the dropped ones are charged too; a relay a second at most, one answer a pause', async () => {
    const [ada, bob] = await Promise.all([signUp(limited, 'ada'), signUp(limited, 'bob')]);
    const id = (await newGroup(ada, [bob], limited)).conversationId;
    const [adaSocket, bobSocket] = await Promise.all([openSocket(address, ada.token), openSocket(address, bob.token)]);
    for (const s of [adaSocket, bobSocket]) {
      s.send({ type: 'sync', conversations: { [id]: 0 } });
      await eventually(() => s.frames.some((f) => f.type === 'synced'));
    }
    const slowest = await flooding([bobSocket], JSON.stringify({ type: 'typing', conversationId: id }));
    expect(typists(adaSocket, id).length).toBeGreaterThanOrEqual(1);
    expect(typists(adaSocket, id).length).toBeLessThanOrEqual(4);
    const limitedAnswers = bobSocket.frames.filter((f) => f.code === 'PUSH.RATE_LIMITED').length;
    expect(limitedAnswers).toBeGreaterThanOrEqual(1);
    expect(limitedAnswers).toBeLessThanOrEqual(6);
    expect(slowest).toBeLessThan(1_000);
    await Promise.all([hangUp(adaSocket), cut(bobSocket)]);
  });

  it('an auth frame with no token or an empty one is AUTH.INVALID_TOKEN, logged as any refused token', async () => {
    const zoe = await signUp(limited, 'zoe');
    const socket = await openSocket(address, zoe.token);
    const from = lines.length;
    socket.send({ type: 'auth' });
    socket.send({ type: 'auth', accessToken: '' });
    await eventually(() => socket.frames.length === 2);
    expect(socket.frames).toMatchObject([
      { type: 'error', code: 'AUTH.INVALID_TOKEN' },
      { type: 'error', code: 'AUTH.INVALID_TOKEN' },
    ]);
    expect(lines.slice(from).filter((l) => l.msg === 'authentication refused: AUTH.INVALID_TOKEN')).toMatchObject([
      { userId: zoe.userId, route: '/ws' },
      { userId: zoe.userId, route: '/ws' },
    ]);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    await hangUp(socket);
  });
});
