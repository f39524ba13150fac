/**
 * The README's walkthrough as a client written against the OpenAPI document would run it:
 * through openapi-fetch typed by the generated schema (client/schema.d.ts), over a real
 * port. And the document itself: the committed apps/api/openapi.json (from which the
 * types are generated) is the one the app serves, so neither can drift from the code.
 */
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import createClient from 'openapi-fetch';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from './client/schema.js';
import { testApp } from './test-app.js';
import { listen, openSocket } from './test-socket.js';

let app: NestFastifyApplication;
let base: string;
beforeAll(async () => {
  app = await testApp();
  base = await listen(app);
});
afterAll(async () => {
  await app.close();
});

/** A client as the holder of `token` (none: anonymous). */
const client = (token?: string) =>
  createClient<paths>({
    baseUrl: `http://${base}`,
    ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });

describe('the OpenAPI document', () => {
  it('is committed as the app serves it (npm run openapi:generate writes both it and the client types)', async () => {
    const committed: unknown = JSON.parse(await readFile(new URL('../openapi.json', import.meta.url), 'utf8'));
    const served = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(served.json()).toEqual(committed);
  });
});

describe("the README's walkthrough through the typed client", () => {
  it('two users, a chat and a group, unread counts and mentions, a reconnect that catches up, a read', async () => {
    const anonymous = client();
    const suffix = Math.random().toString(36).slice(2, 8);
    const ada = await anonymous.POST('/auth/register', {
      body: { username: `ada-${suffix}`, password: 'correct horse', displayName: 'Ada' },
    });
    const bob = await anonymous.POST('/auth/register', {
      body: { username: `bob-${suffix}`, password: 'battery staple', displayName: 'Bob' },
    });
    if (!ada.data || !bob.data) throw new Error(`sign-up: ${ada.response.status} ${bob.response.status}`);
    const A = client(ada.data.accessToken);
    const B = client(bob.data.accessToken);

    const dm = await A.POST('/conversations/direct', { body: { userId: bob.data.userId } });
    expect(dm.response.status).toBe(201);
    const C = dm.data!.conversationId;
    const sent = await A.POST('/conversations/{id}/messages', {
      params: { path: { id: C } },
      body: { clientMessageId: 'm1', text: 'hello bob' },
    });
    let K = sent.data!.checkpoint!;
    const inbox = await B.GET('/conversations', { params: { query: { after: K } } });
    expect(inbox.data).toMatchObject({ conversations: [{ conversationId: C, unreadCount: 1 }], nextCursor: null });
    const messages = await B.GET('/conversations/{id}/messages', { params: { path: { id: C }, query: { after: K } } });
    expect(messages.data?.messages.map((m) => m.text)).toEqual(['hello bob']);

    const grp = await A.POST('/conversations/groups', { body: { name: 'team', memberIds: [bob.data.userId] } });
    const G = grp.data!.conversationId;
    const say = (clientMessageId: string, text: string, mentions?: { userIds: string[]; all: boolean }) =>
      A.POST('/conversations/{id}/messages', {
        params: { path: { id: G } },
        body: { clientMessageId, text, ...(mentions ? { mentions } : {}) },
      });
    await say('g1', 'hi team');
    K = (await say('g2', 'bob, look', { userIds: [bob.data.userId], all: false })).data!.checkpoint!;
    const counted = await B.GET('/conversations', { params: { query: { after: K } } });
    expect(counted.data?.conversations[0]).toMatchObject({ conversationId: G, unreadCount: 2, mentionCount: 1 });

    // bob reconnects having seq 1: what he missed (2), synced, then live (3).
    const socket = await openSocket(base, bob.data.accessToken);
    socket.send({ type: 'sync', conversations: { [G]: 1 } });
    await eventually(() => socket.frames.some((f) => f.type === 'synced'));
    await say('g3', 'live now');
    const seqs = () => socket.frames.filter((f) => f.type === 'event').map((f) => (f as { seq?: number }).seq);
    await eventually(() => seqs().length === 2);
    expect(seqs()).toEqual([2, 3]);
    socket.ws.close();

    const read = await B.POST('/conversations/{id}/read', { params: { path: { id: G } }, body: { upToSeq: 3 } });
    K = read.data!.checkpoint!;
    const cleared = await B.GET('/conversations', { params: { query: { after: K } } });
    expect(cleared.data?.conversations[0]).toMatchObject({ conversationId: G, unreadCount: 0, mentionCount: 0 });

    // Errors are typed too: the one error body, its code from the union.
    const refused = await client().GET('/me');
    expect(refused.response.status).toBe(401);
    expect(refused.error?.error.code).toBe('AUTH.INVALID_TOKEN');
  });
});
