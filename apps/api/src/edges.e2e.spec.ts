/**
 * The REST edge: what the framework refuses before a route runs answers the one error body
 * without echoing the request; ids are the same ids whatever their case; unblocking names
 * an existing user; a block racing a contact request never lets the request through.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from './test-app.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
async function call(who: TestUser, method: Method, url: string, payload?: object) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>(), raw: response.body };
}

describe("the framework's own refusals", () => {
  it('a malformed URL, a bad percent-encoding or an over-long path parameter answer 400 REQUEST.INVALID with the one body, echoing nothing', async () => {
    const ada = await signUp(app, 'ada');
    const long = 'a'.repeat(101);
    const urls: [Method, string, string][] = [
      ['PUT', `/conversations/${randomUUID()}/messages/${randomUUID()}/reactions/%ED%A0%80`, '%ED%A0%80'],
      ['GET', '/conversations/%ZZ', '%ZZ'],
      ['GET', `/conversations/${long}`, long],
      ['GET', `/users/${long}`, long],
      ['PUT', `/blocks/${encodeURIComponent('字'.repeat(101))}`, '%E5%AD%97%E5%AD%97'],
    ];
    for (const [method, url, echo] of urls) {
      const answer = await call(ada, method, url);
      expect({ url, status: answer.status, code: (answer.body.error as { code?: string } | undefined)?.code }).toEqual({
        url,
        status: 400,
        code: 'REQUEST.INVALID',
      });
      expect(Object.keys(answer.body)).toEqual(['error']);
      expect(answer.raw).not.toContain(echo);
      expect(answer.raw).not.toContain('FST_');
    }
  });

  it('an unknown route is 404 REQUEST.NOT_FOUND with the one body, echoing nothing', async () => {
    const ada = await signUp(app, 'ada');
    const answer = await call(ada, 'GET', '/no-such-route/secret-looking-path');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'REQUEST.NOT_FOUND', message: expect.any(String) as string } });
    expect(answer.raw).not.toContain('secret-looking-path');
  });

  it('a reaction of the longest emoji allowed (64 characters), percent-encoded, reaches the route', async () => {
    const ada = await signUp(app, 'ada');
    const { conversationId } = (await call(ada, 'POST', '/conversations/groups', { name: 'g', memberIds: [] }))
      .body as { conversationId: string };
    const sent = await call(ada, 'POST', `/conversations/${conversationId}/messages`, {
      clientMessageId: 'm',
      text: 'hi',
    });
    const messageId = sent.body.messageId as string;
    const url = (emoji: string) =>
      `/conversations/${conversationId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
    expect(encodeURIComponent('字'.repeat(64)).length).toBe(576);
    expect((await call(ada, 'PUT', url('字'.repeat(64)))).status).toBe(200);
    const tooLong = await call(ada, 'PUT', url('字'.repeat(65)));
    expect([tooLong.status, (tooLong.body.error as { code: string }).code]).toEqual([400, 'REQUEST.INVALID']);
  });
});
