import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { eventually, freshDatabase, TEST_JWT_SECRET, uniqueId } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../bootstrap.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await createApp({
    config: loadConfig({ RATE_LIMIT_SIGN_IN_PER_MINUTE: '10000', RATE_LIMIT_IP_PER_SECOND: '10000' }),
    databaseUrl: await freshDatabase(),
    logger: new JsonLogger('fatal'),
    jwtSecret: TEST_JWT_SECRET,
  });
});
afterAll(async () => {
  await app.close();
});

interface User {
  userId: string;
  token: string;
}
async function user(name: string): Promise<User> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: uniqueId(name).toLowerCase(), password: 'password-1', displayName: name },
  });
  const body = response.json<{ userId: string; accessToken: string }>();
  return { userId: body.userId, token: body.accessToken };
}
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
  it('request, accept, remove; decline; the directory lists them', async () => {
    const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);
    expect((await call(ada, 'POST', `/contacts/${bob.userId}`)).body).toEqual({ status: 'requested' });
    expect((await call(bob, 'POST', `/contacts/${bob.userId}/accept`)).status).toBe(400);
    expect((await call(bob, 'POST', `/contacts/${ada.userId}/accept`)).body).toEqual({ status: 'contacts' });
    await eventually(async () => {
      const list = (await call(ada, 'GET', '/contacts')).body as unknown as { userId: string; status: string }[];
      return list.some((c) => c.userId === bob.userId && c.status === 'contacts');
    });
    expect((await call(ada, 'DELETE', `/contacts/${bob.userId}`)).body).toEqual({ status: 'none' });
    await call(cy, 'POST', `/contacts/${ada.userId}`);
    expect((await call(ada, 'POST', `/contacts/${cy.userId}/decline`)).body).toEqual({ status: 'none' });
    expect((await call(ada, 'POST', `/contacts/${randomUUID()}`)).status).toBe(404);
    expect((await call(ada, 'GET', `/users/${bob.userId}`)).body).toMatchObject({ displayName: 'bob' });
  });

  it('a blocked user cannot open a direct conversation with, send to, or ask the one who blocked them', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await call(bob, 'POST', '/conversations/direct', { userId: ada.userId });
    const id = dm.body.conversationId as string;
    const send = (who: User) =>
      call(who, 'POST', `/conversations/${id}/messages`, { clientMessageId: randomUUID(), text: 'hi' });
    expect((await send(bob)).status).toBe(201);

    expect((await call(ada, 'PUT', `/blocks/${bob.userId}`)).status).toBe(204);
    const refused = await send(bob);
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    expect((await call(bob, 'POST', '/conversations/direct', { userId: ada.userId })).status).toBe(404);
    expect((await call(bob, 'POST', `/contacts/${ada.userId}`)).status).toBe(404);
    // The one who blocked can still write; lifting the block lets the other write again.
    expect((await send(ada)).status).toBe(201);
    await eventually(async () => ((await call(ada, 'GET', '/blocks')).body as unknown as unknown[]).length === 1);
    expect((await call(ada, 'DELETE', `/blocks/${bob.userId}`)).status).toBe(204);
    expect((await send(bob)).status).toBe(201);
    expect((await call(ada, 'PUT', `/blocks/${ada.userId}`)).status).toBe(400);
  });
});
