import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { eventually, range } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyPage, signUp, testApp, type TestUser } from '../test-app.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type User = TestUser;
const user = (name: string): Promise<TestUser> => signUp(app, name);
async function call(who: User, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  return {
    status: response.statusCode,
    body: (response.body ? response.json() : undefined) as Record<string, unknown>,
  };
}

describe('contacts and blocks', () => {
  it('request, accept, remove; decline; the directory lists them, read-your-writes with the checkpoint', async () => {
    const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);
    const checkpoint = expect.any(String) as unknown;
    expect((await call(ada, 'POST', `/contacts/${bob.userId}`)).body).toEqual({ status: 'requested', checkpoint });
    expect((await call(bob, 'POST', `/contacts/${bob.userId}/accept`)).status).toBe(400);
    const accepted = await call(bob, 'POST', `/contacts/${ada.userId}/accept`);
    expect(accepted.body).toEqual({ status: 'contacts', checkpoint });
    const after = encodeURIComponent(accepted.body.checkpoint as string);
    expect((await call(ada, 'GET', `/contacts?after=${after}`)).body).toEqual({
      contacts: [{ userId: bob.userId, status: 'contacts' }],
      nextCursor: null,
    });
    expect((await call(ada, 'GET', '/contacts?after=nonsense')).status).toBe(400);
    expect((await call(ada, 'DELETE', `/contacts/${bob.userId}`)).body).toEqual({ status: 'none', checkpoint });
    await call(cy, 'POST', `/contacts/${ada.userId}`);
    expect((await call(ada, 'POST', `/contacts/${cy.userId}/decline`)).body).toEqual({ status: 'none', checkpoint });
    expect((await call(ada, 'POST', `/contacts/${randomUUID()}`)).status).toBe(404);
    expect((await call(ada, 'GET', `/users/${bob.userId}`)).body).toMatchObject({ displayName: 'bob' });
  });

  it("what a blocked user sends, starts or asks is answered as anyone else's, and withheld from the one who blocked them", async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await call(bob, 'POST', '/conversations/direct', { userId: ada.userId });
    const id = dm.body.conversationId as string;
    const send = (who: User) =>
      call(who, 'POST', `/conversations/${id}/messages`, { clientMessageId: randomUUID(), text: 'hi' });
    expect((await send(bob)).status).toBe(201);

    const blocked = await call(ada, 'PUT', `/blocks/${bob.userId}`);
    expect(blocked.status).toBe(200);
    const after = encodeURIComponent(blocked.body.checkpoint as string);
    expect((await call(ada, 'GET', `/blocks?after=${after}`)).body).toEqual({
      blocks: [{ userId: bob.userId }],
      nextCursor: null,
    });
    const withheld = await send(bob);
    expect(withheld.status).toBe(201);
    expect((await call(bob, 'POST', '/conversations/direct', { userId: ada.userId })).status).toBe(201);
    expect((await call(bob, 'POST', `/contacts/${ada.userId}`)).status).toBe(200);
    // The one who blocked can still write, and sees the withheld message nowhere (seq 2 is theirs).
    const mine = await send(ada);
    expect(mine.body.seq).toBe(2);
    const seen = await call(
      ada,
      'GET',
      `/conversations/${id}/messages?after=${encodeURIComponent(mine.body.checkpoint as string)}`,
    );
    expect((seen.body.messages as { seq: number }[]).map((m) => m.seq).sort()).toEqual([1, 2]);
    expect(
      (await call(ada, 'GET', `/contacts?after=${encodeURIComponent(mine.body.checkpoint as string)}`)).body,
    ).toEqual({
      contacts: [],
      nextCursor: null,
    });
    // Lifting the block lets the other write again.
    expect((await call(ada, 'DELETE', `/blocks/${bob.userId}`)).status).toBe(200);
    // Unblocking again changes nothing: no checkpoint to wait for.
    expect((await call(ada, 'DELETE', `/blocks/${bob.userId}`)).body).toEqual({ checkpoint: null });
    expect((await send(bob)).status).toBe(201);
    expect((await call(ada, 'PUT', `/blocks/${ada.userId}`)).status).toBe(400);
  });

  it('contacts and blocks page by user id: each once, in order, to a null cursor', async () => {
    const [ada, ...others] = await Promise.all([user('ada'), ...range(5).map((i) => user(`other${i}`))]);
    for (const other of others) await call(ada, 'POST', `/contacts/${other.userId}`);
    const [friend] = others;
    const accepted = await call(friend!, 'POST', `/contacts/${ada.userId}/accept`);
    const byId = others.map((o) => o.userId).sort();
    const contacts = await everyPage<{ userId: string; status: string }>(
      app,
      ada,
      `/contacts?limit=2&after=${encodeURIComponent(accepted.body.checkpoint as string)}`,
      'contacts',
    );
    expect(contacts.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(contacts.flat()).toEqual(
      byId.map((userId) => ({ userId, status: userId === friend!.userId ? 'contacts' : 'request_sent' })),
    );

    let blocked = '';
    for (const other of others) blocked = (await call(ada, 'PUT', `/blocks/${other.userId}`)).body.checkpoint as string;
    const blocks = await everyPage<{ userId: string }>(
      app,
      ada,
      `/blocks?limit=2&after=${encodeURIComponent(blocked)}`,
      'blocks',
    );
    expect(blocks.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(blocks.flat()).toEqual(byId.map((userId) => ({ userId })));
    for (const url of ['/contacts?limit=101', '/blocks?limit=0', '/contacts?cursor=nope', '/blocks?cursor=nope']) {
      const refused = await call(ada, 'GET', url);
      expect(refused.status, url).toBe(400);
      expect(refused.body, url).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
  });
});

describe('the directory', () => {
  it('finds a user by their exact user name, whatever its case; nobody by a part of it', async () => {
    const name = `Zed${randomUUID().slice(0, 8)}`;
    const registered = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: name.toLowerCase(), password: 'password-1', displayName: 'Zed' },
    });
    const zed = registered.json<{ userId: string }>();
    const ada = await user('ada');
    const find = async (username: string) =>
      (await call(ada, 'GET', `/users?username=${encodeURIComponent(username)}`)).body;
    // The directory is a read model: the registration reaches it a moment later.
    await eventually(async () => ((await find(name)).users as unknown[]).length === 1);
    expect(await find(name.toUpperCase())).toEqual({
      users: [
        { userId: zed.userId, username: name.toLowerCase(), displayName: 'Zed', avatarUrl: null, statusText: null },
      ],
    });
    expect(await find(name.slice(0, 5))).toEqual({ users: [] });
    expect((await call(ada, 'GET', '/users')).status).toBe(400);
  });
});
