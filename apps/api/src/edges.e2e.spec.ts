/**
 * The REST edge: what the framework refuses before a route runs answers the one error body
 * without echoing the request; ids are the same ids whatever their case; unblocking names
 * an existing user; a block racing a contact request never lets the request through.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { range } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { signUp, testApp, type TestUser } from './test-app.js';
import { apiOf, dataOf } from './test-client.js';
import { listen } from './test-socket.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

const as = (who: TestUser) => apiOf(app, who);

/** A request the document forbids on purpose, as `who`: its status, JSON body and raw text. */
async function forbidden(who: TestUser, method: 'GET' | 'PUT', url: string) {
  const response = await app.inject({ method, url, headers: { authorization: `Bearer ${who.token}` } });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>(), raw: response.body };
}

/** The latest of some writes' checkpoints, to read them all with ?after=. */
const after = (checkpoints: (string | null | undefined)[]): string =>
  checkpoints
    .filter((c): c is string => typeof c === 'string')
    .sort()
    .at(-1)!;

describe("the framework's own refusals", () => {
  it('a malformed URL, a bad percent-encoding or an over-long path parameter answer 400 REQUEST.INVALID with the one body, echoing nothing', async () => {
    const ada = await signUp(app, 'ada');
    const long = 'a'.repeat(129);
    // Each is what the document forbids on purpose: a path parameter that is no UTF-8, badly
    // percent-encoded, or no UUID at all.
    const urls: ['GET' | 'PUT', string, string][] = [
      ['PUT', `/conversations/${randomUUID()}/messages/${randomUUID()}/reactions/%ED%A0%80`, '%ED%A0%80'],
      ['GET', '/conversations/%ZZ', '%ZZ'],
      ['GET', `/conversations/${long}`, long],
      ['GET', `/users/${long}`, long],
      ['PUT', `/blocks/${encodeURIComponent('字'.repeat(129))}`, '%E5%AD%97%E5%AD%97'],
    ];
    for (const [method, url, echo] of urls) {
      const answer = await forbidden(ada, method, url);
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
    // The document forbids it on purpose: no such route.
    const answer = await forbidden(ada, 'GET', '/no-such-route/secret-looking-path');
    expect(answer.status).toBe(404);
    expect(answer.body).toEqual({ error: { code: 'REQUEST.NOT_FOUND', message: expect.any(String) as string } });
    expect(answer.raw).not.toContain('secret-looking-path');
  });

  it('a reaction of the longest emoji allowed (64 characters), percent-encoded, reaches the route', async () => {
    const ada = await signUp(app, 'ada');
    const { conversationId } = dataOf(
      await as(ada).POST('/conversations/groups', { body: { name: 'g', memberIds: [] } }),
    );
    const sent = await as(ada).POST('/conversations/{id}/messages', {
      params: { path: { id: conversationId } },
      body: { clientMessageId: 'm', text: 'hi' },
    });
    const { messageId } = dataOf(sent);
    // The client percent-encodes the emoji as encodeURIComponent does.
    const react = (emoji: string) =>
      as(ada).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id: conversationId, messageId, emoji } },
      });
    const url = (emoji: string) =>
      `/conversations/${conversationId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
    expect(encodeURIComponent('字'.repeat(64)).length).toBe(576);
    expect((await react('字'.repeat(64))).response.status).toBe(200);
    // 64 characters outside the BMP: 128 UTF-16 code units, still one parameter.
    expect((await react('👍'.repeat(64))).response.status).toBe(200);
    // The document forbids these on purpose: an emoji over its 64 characters.
    expect((await forbidden(ada, 'PUT', url('👍'.repeat(65)))).status).toBe(400);
    const tooLong = await forbidden(ada, 'PUT', url('字'.repeat(65)));
    expect([tooLong.status, (tooLong.body.error as { code: string }).code]).toEqual([400, 'REQUEST.INVALID']);
  });
});

describe('requests the HTTP parser refuses', () => {
  let address: string;
  beforeAll(async () => {
    address = await listen(app);
  });

  /** Writes raw bytes to the listening app and answers what came back, whole. */
  async function raw(request: string): Promise<string> {
    const [host, port] = address.split(':') as [string, string];
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), host);
      let answer = '';
      socket.on('data', (chunk) => (answer += String(chunk)));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
      socket.end(request);
    });
  }
  it('a malformed request line or header, or headers over 16 KiB, answer the one error body and echo nothing', async () => {
    const bad = [
      ['GET /x HTTP/1.1 extra\r\n\r\n', '400'],
      ['GET /health HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n', '400'],
      ['POST /auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', '400'],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`, '431'],
    ] as const;
    for (const [request, status] of bad) {
      const answer = await raw(request);
      expect(answer.split('\r\n')[0], request.slice(0, 40)).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string } };
      expect(body.error.code).toBe('REQUEST.INVALID');
      expect(answer).not.toContain('yyyy');
      expect(answer).not.toContain('bad header');
    }
  });
});

describe('ids in any case are the same ids', () => {
  it('blocks: an upper-case id blocks and unblocks the user, listed in lower case', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const BOB = bob.userId.toUpperCase();
    const blocked = await as(ada).PUT('/blocks/{userId}', { params: { path: { userId: BOB } } });
    expect(blocked.response.status).toBe(200);
    expect(blocked.data?.checkpoint).toEqual(expect.any(String));
    const list = await as(ada).GET('/blocks', { params: { query: { after: after([blocked.data?.checkpoint]) } } });
    expect(list.data?.blocks).toEqual([{ userId: bob.userId }]);
    const unblocked = await as(ada).DELETE('/blocks/{userId}', { params: { path: { userId: BOB } } });
    expect(unblocked.response.status).toBe(200);
    expect(unblocked.data?.checkpoint).toEqual(expect.any(String));
    const none = await as(ada).GET('/blocks', { params: { query: { after: after([unblocked.data?.checkpoint]) } } });
    expect(none.data?.blocks).toEqual([]);
  });

  it('contacts: a request to an upper-case id is accepted by its lower-case one; both list lower-case ids', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const asked = await as(ada).POST('/contacts/{userId}', { params: { path: { userId: bob.userId.toUpperCase() } } });
    expect(asked.response.status).toBe(200);
    const accepted = await as(bob).POST('/contacts/{userId}/accept', { params: { path: { userId: ada.userId } } });
    expect([accepted.response.status, accepted.data?.status]).toEqual([200, 'contacts']);
    const checkpoint = after([asked.data?.checkpoint, accepted.data?.checkpoint]);
    expect((await as(ada).GET('/contacts', { params: { query: { after: checkpoint } } })).data?.contacts).toEqual([
      { userId: bob.userId, status: 'contacts' },
    ]);
    expect((await as(bob).GET('/contacts', { params: { query: { after: checkpoint } } })).data?.contacts).toEqual([
      { userId: ada.userId, status: 'contacts' },
    ]);
  });

  it('conversations: upper-case ids in the path, the body and a cursor name the same conversation and users', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const dm = await as(ada).POST('/conversations/direct', { body: { userId: bob.userId.toUpperCase() } });
    const again = await as(bob).POST('/conversations/direct', { body: { userId: ada.userId } });
    const { conversationId } = dataOf(dm);
    expect(conversationId).toBe(conversationId.toLowerCase());
    expect(again.data?.conversationId).toBe(conversationId);
    const sent = await as(ada).POST('/conversations/{id}/messages', {
      params: { path: { id: conversationId.toUpperCase() } },
      body: { clientMessageId: 'm', text: 'hi', mentions: { userIds: [bob.userId.toUpperCase()], all: false } },
    });
    expect([sent.response.status, sent.data?.conversationId]).toEqual([201, conversationId]);
    const details = await as(bob).GET('/conversations/{id}', {
      params: { path: { id: conversationId.toUpperCase() }, query: { after: after([sent.data?.checkpoint]) } },
    });
    expect([details.response.status, details.data?.conversationId]).toEqual([200, conversationId]);
    const inbox = await as(bob).GET('/conversations', { params: { query: { after: after([sent.data?.checkpoint]) } } });
    expect(inbox.data?.conversations).toEqual([
      expect.objectContaining({ conversationId, unreadCount: 1, mentionCount: 1 }),
    ]);
  });
});

describe('commands naming a user who does not exist', () => {
  it('unblocking an unknown user is 404 USER.NOT_FOUND, as blocking one is', async () => {
    const ada = await signUp(app, 'ada');
    const unknown = randomUUID();
    for (const method of ['PUT', 'DELETE'] as const) {
      const request = { params: { path: { userId: unknown } } };
      const answer = await (method === 'PUT'
        ? as(ada).PUT('/blocks/{userId}', request)
        : as(ada).DELETE('/blocks/{userId}', request));
      expect([method, answer.response.status, answer.error?.error.code]).toEqual([method, 404, 'USER.NOT_FOUND']);
    }
  });
});

describe('a block racing a contact request', () => {
  it('never leaves the one who blocked with a request from the one they blocked (many races)', async () => {
    const pairs = await Promise.all(
      range(20).map(async (i) => [await signUp(app, `r${i}`), await signUp(app, `s${i}`)] as [TestUser, TestUser]),
    );
    const results = await Promise.all(
      pairs.map(async ([r, s]) => {
        const [blocked, asked] = await Promise.all([
          as(r).PUT('/blocks/{userId}', { params: { path: { userId: s.userId } } }),
          as(s).POST('/contacts/{userId}', { params: { path: { userId: r.userId } } }),
        ]);
        return { r, s, blocked, asked };
      }),
    );
    for (const { r, blocked, asked } of results) {
      expect([blocked.response.status, asked.response.status]).toEqual([200, 200]);
      const contacts = await as(r).GET('/contacts', {
        params: { query: { after: after([blocked.data?.checkpoint, asked.data?.checkpoint]) } },
      });
      expect(contacts.data?.contacts).toEqual([]);
    }
  }, 60_000);
});
