import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { eventually, range } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, checkpointOf, dataOf, everyPage } from '../test-client.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type User = TestUser;
const user = (name: string): Promise<TestUser> => signUp(app, name);
const as = (who: User) => apiOf(app, who);

describe('contacts and blocks', () => {
  it('request, accept, remove; decline; the directory lists them, read-your-writes with the checkpoint', async () => {
    const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);
    const checkpoint = expect.any(String) as unknown;
    expect((await as(ada).POST('/contacts/{userId}', { params: { path: { userId: bob.userId } } })).data).toEqual({
      status: 'requested',
      checkpoint,
    });
    expect(
      (await as(bob).POST('/contacts/{userId}/accept', { params: { path: { userId: bob.userId } } })).response.status,
    ).toBe(400);
    const accepted = await as(bob).POST('/contacts/{userId}/accept', { params: { path: { userId: ada.userId } } });
    expect(accepted.data).toEqual({ status: 'contacts', checkpoint });
    const after = accepted.data!.checkpoint!;
    expect((await as(ada).GET('/contacts', { params: { query: { after } } })).data).toEqual({
      contacts: [{ userId: bob.userId, status: 'contacts' }],
      nextCursor: null,
    });
    expect((await as(ada).GET('/contacts', { params: { query: { after: 'nonsense' } } })).response.status).toBe(400);
    expect((await as(ada).DELETE('/contacts/{userId}', { params: { path: { userId: bob.userId } } })).data).toEqual({
      status: 'none',
      checkpoint,
    });
    await as(cy).POST('/contacts/{userId}', { params: { path: { userId: ada.userId } } });
    expect(
      (await as(ada).POST('/contacts/{userId}/decline', { params: { path: { userId: cy.userId } } })).data,
    ).toEqual({ status: 'none', checkpoint });
    expect(
      (await as(ada).POST('/contacts/{userId}', { params: { path: { userId: randomUUID() } } })).response.status,
    ).toBe(404);
    expect((await as(ada).GET('/users/{userId}', { params: { path: { userId: bob.userId } } })).data).toMatchObject({
      displayName: 'bob',
    });
  });

  it("what a blocked user sends, starts or asks is answered as anyone else's, and withheld from the one who blocked them", async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await as(bob).POST('/conversations/direct', { body: { userId: ada.userId } });
    const id = dataOf(dm).conversationId;
    const send = (who: User) =>
      as(who).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text: 'hi' },
      });
    expect((await send(bob)).response.status).toBe(201);

    const blocked = await as(ada).PUT('/blocks/{userId}', { params: { path: { userId: bob.userId } } });
    expect(blocked.response.status).toBe(200);
    expect((await as(ada).GET('/blocks', { params: { query: { after: checkpointOf(blocked) } } })).data).toEqual({
      blocks: [{ userId: bob.userId }],
      nextCursor: null,
    });
    const withheld = await send(bob);
    expect(withheld.response.status).toBe(201);
    expect((await as(bob).POST('/conversations/direct', { body: { userId: ada.userId } })).response.status).toBe(201);
    expect(
      (await as(bob).POST('/contacts/{userId}', { params: { path: { userId: ada.userId } } })).response.status,
    ).toBe(200);
    // The one who blocked can still write, and sees the withheld message nowhere (seq 2 is theirs).
    const mine = await send(ada);
    expect(mine.data?.seq).toBe(2);
    const seen = await as(ada).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after: checkpointOf(mine) } },
    });
    expect(seen.data?.messages.map((m) => m.seq).sort()).toEqual([1, 2]);
    expect((await as(ada).GET('/contacts', { params: { query: { after: checkpointOf(mine) } } })).data).toEqual({
      contacts: [],
      nextCursor: null,
    });
    // Lifting the block lets the other write again.
    expect(
      (await as(ada).DELETE('/blocks/{userId}', { params: { path: { userId: bob.userId } } })).response.status,
    ).toBe(200);
    // Unblocking again changes nothing: no checkpoint to wait for.
    expect((await as(ada).DELETE('/blocks/{userId}', { params: { path: { userId: bob.userId } } })).data).toEqual({
      checkpoint: null,
    });
    expect((await send(bob)).response.status).toBe(201);
    expect((await as(ada).PUT('/blocks/{userId}', { params: { path: { userId: ada.userId } } })).response.status).toBe(
      400,
    );
  });

  it('contacts and blocks page by user id: each once, in order, to a null cursor', async () => {
    const [ada, ...others] = await Promise.all([user('ada'), ...range(5).map((i) => user(`other${i}`))]);
    for (const other of others) {
      await as(ada).POST('/contacts/{userId}', { params: { path: { userId: other.userId } } });
    }
    const [friend] = others;
    const accepted = await as(friend!).POST('/contacts/{userId}/accept', { params: { path: { userId: ada.userId } } });
    const byId = others.map((o) => o.userId).sort();
    const contactsAfter = checkpointOf(accepted);
    const contacts = (
      await everyPage((cursor) =>
        as(ada).GET('/contacts', { params: { query: { limit: '2', after: contactsAfter, cursor } } }),
      )
    ).map((page) => page.contacts);
    expect(contacts.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(contacts.flat()).toEqual(
      byId.map((userId) => ({ userId, status: userId === friend!.userId ? 'contacts' : 'request_sent' })),
    );

    let blocked = '';
    for (const other of others) {
      blocked = checkpointOf(await as(ada).PUT('/blocks/{userId}', { params: { path: { userId: other.userId } } }));
    }
    const blocks = (
      await everyPage((cursor) => as(ada).GET('/blocks', { params: { query: { limit: '2', after: blocked, cursor } } }))
    ).map((page) => page.blocks);
    expect(blocks.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(blocks.flat()).toEqual(byId.map((userId) => ({ userId })));
    // The document forbids each of these on purpose: a limit outside its 1..100, a cursor that is no user id.
    for (const url of ['/contacts?limit=101', '/blocks?limit=0', '/contacts?cursor=nope', '/blocks?cursor=nope']) {
      const refused = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ada.token}` } });
      expect(refused.statusCode, url).toBe(400);
      expect(refused.json(), url).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
  });
});

describe('the directory', () => {
  it('finds a user by their exact user name, whatever its case; nobody by a part of it', async () => {
    const name = `Zed${randomUUID().slice(0, 8)}`;
    const registered = await apiOf(app).POST('/auth/register', {
      body: { username: name.toLowerCase(), password: 'password-1', displayName: 'Zed' },
    });
    const zed = dataOf(registered);
    const ada = await user('ada');
    const find = async (username: string) => (await as(ada).GET('/users', { params: { query: { username } } })).data;
    // The directory is a read model: the registration reaches it a moment later.
    await eventually(async () => (await find(name))?.users.length === 1);
    expect(await find(name.toUpperCase())).toEqual({
      users: [
        { userId: zed.userId, username: name.toLowerCase(), displayName: 'Zed', avatarUrl: null, statusText: null },
      ],
    });
    expect(await find(name.slice(0, 5))).toEqual({ users: [] });
    // The document forbids it on purpose: the username the query requires is missing.
    expect(
      (await app.inject({ method: 'GET', url: '/users', headers: { authorization: `Bearer ${ada.token}` } }))
        .statusCode,
    ).toBe(400);
  });
});
