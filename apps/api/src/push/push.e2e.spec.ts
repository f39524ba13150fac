import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { CLOSE, MAX_PAYLOAD } from './push.gateway.js';

let app: NestFastifyApplication;
let base: string;

beforeAll(async () => {
  app = await testApp({ WS_ALLOWED_ORIGINS: 'https://chat.example.com' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address() as { port: number };
  base = `127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await app.close();
});

type User = TestUser;
interface Frame {
  type: string;
  conversationId?: string;
  seq?: number;
  code?: string;
  userId?: string;
  event?: { type: string; data: Record<string, unknown> };
}

const user = (name: string): Promise<TestUser> => signUp(app, name);

async function call(who: User, method: 'POST' | 'DELETE', url: string, payload?: object) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  // Sign-out answers 204 with no body.
  return (response.body ? response.json() : {}) as { conversationId: string; seq: number };
}

const say = (who: User, id: string, text: string) =>
  call(who, 'POST', `/conversations/${id}/messages`, { clientMessageId: randomUUID(), text });

/** A connected socket and every frame it received. */
async function connect(
  who: User,
  headers: Record<string, string> = {},
): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`ws://${base}/ws`, { headers: { authorization: `Bearer ${who.token}`, ...headers } });
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as Frame));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

function refused(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_, response) => resolve(response.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
}

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
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'live', memberIds: [bob.userId] });
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
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'kick', memberIds: [bob.userId] });
    const id = group.conversationId;
    const adaSocket = await connect(ada);
    const bobSocket = await connect(bob);
    for (const s of [adaSocket, bobSocket]) s.ws.send(JSON.stringify({ type: 'sync', conversations: { [id]: 0 } }));
    await eventually(() => [adaSocket, bobSocket].every((s) => s.frames.some((f) => f.type === 'synced')));

    bobSocket.ws.send(JSON.stringify({ type: 'typing', conversationId: id }));
    await eventually(() => adaSocket.frames.some((f) => f.type === 'typing' && f.userId === bob.userId));

    await call(ada, 'DELETE', `/conversations/${id}/members/${bob.userId}`);
    await eventually(() => bobSocket.frames.some((f) => f.event?.type === 'MemberKicked'));
    await say(ada, id, 'bob cannot see this');
    await eventually(() => adaSocket.frames.some((f) => f.event?.data.text === 'bob cannot see this'));
    await new Promise((r) => setTimeout(r, 300));
    expect(bobSocket.frames.some((f) => f.event?.data.text === 'bob cannot see this')).toBe(false);
    // Nor can bob subscribe again.
    bobSocket.ws.send(JSON.stringify({ type: 'sync', conversations: { [id]: 0 } }));
    await eventually(() => bobSocket.frames.some((f) => f.type === 'error' && f.code === 'CONVERSATION.NOT_FOUND'));

    const started = Date.now();
    await call(bob, 'POST', '/auth/sign-out');
    expect(await bobSocket.closed).toBe(CLOSE.sessionRevoked);
    expect(Date.now() - started).toBeLessThan(1_000);
    adaSocket.ws.close();
  });

  it('bad frames get an error frame; an oversized frame closes the socket; the server stays up', async () => {
    const bob = await user('bob');
    const socket = await connect(bob);
    socket.ws.send('not json');
    socket.ws.send(JSON.stringify({ type: 'sync', conversations: { 'not-a-uuid': 1 } }));
    socket.ws.send('{"type":"sync","conversations":{},"__proto__":{"polluted":true}}');
    socket.ws.send(JSON.stringify({ type: 'typing', conversationId: randomUUID() }));
    await eventually(() => socket.frames.filter((f) => f.type === 'error').length === 4);
    socket.ws.send('x'.repeat(MAX_PAYLOAD + 1));
    expect(await socket.closed).toBe(1009);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });
});
