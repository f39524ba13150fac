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
import { caller, signUp, testApp, type Method, type TestUser } from './test-app.js';
import { listen } from './test-socket.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

const call = (...args: Parameters<ReturnType<typeof caller>>) => caller(app)(...args);

const after = (checkpoints: unknown[]): string =>
  encodeURIComponent(
    checkpoints
      .filter((c): c is string => typeof c === 'string')
      .sort()
      .at(-1)!,
  );

describe("the framework's own refusals", () => {
  it('a malformed URL, a bad percent-encoding or an over-long path parameter answer 400 REQUEST.INVALID with the one body, echoing nothing', async () => {
    const ada = await signUp(app, 'ada');
    const long = 'a'.repeat(129);
    const urls: [Method, string, string][] = [
      ['PUT', `/conversations/${randomUUID()}/messages/${randomUUID()}/reactions/%ED%A0%80`, '%ED%A0%80'],
      ['GET', '/conversations/%ZZ', '%ZZ'],
      ['GET', `/conversations/${long}`, long],
      ['GET', `/users/${long}`, long],
      ['PUT', `/blocks/${encodeURIComponent('字'.repeat(129))}`, '%E5%AD%97%E5%AD%97'],
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
    // 64 characters outside the BMP: 128 UTF-16 code units, still one parameter.
    expect((await call(ada, 'PUT', url('👍'.repeat(64)))).status).toBe(200);
    expect((await call(ada, 'PUT', url('👍'.repeat(65)))).status).toBe(400);
    const tooLong = await call(ada, 'PUT', url('字'.repeat(65)));
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
    const blocked = await call(ada, 'PUT', `/blocks/${BOB}`);
    expect(blocked.status).toBe(200);
    expect(blocked.body.checkpoint).toEqual(expect.any(String));
    const list = await call(ada, 'GET', `/blocks?after=${after([blocked.body.checkpoint])}`);
    expect(list.body.blocks).toEqual([{ userId: bob.userId }]);
    const unblocked = await call(ada, 'DELETE', `/blocks/${BOB}`);
    expect(unblocked.status).toBe(200);
    expect(unblocked.body.checkpoint).toEqual(expect.any(String));
    const none = await call(ada, 'GET', `/blocks?after=${after([unblocked.body.checkpoint])}`);
    expect(none.body.blocks).toEqual([]);
  });

  it('contacts: a request to an upper-case id is accepted by its lower-case one; both list lower-case ids', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const asked = await call(ada, 'POST', `/contacts/${bob.userId.toUpperCase()}`);
    expect(asked.status).toBe(200);
    const accepted = await call(bob, 'POST', `/contacts/${ada.userId}/accept`);
    expect([accepted.status, accepted.body.status]).toEqual([200, 'contacts']);
    const checkpoint = after([asked.body.checkpoint, accepted.body.checkpoint]);
    expect((await call(ada, 'GET', `/contacts?after=${checkpoint}`)).body.contacts).toEqual([
      { userId: bob.userId, status: 'contacts' },
    ]);
    expect((await call(bob, 'GET', `/contacts?after=${checkpoint}`)).body.contacts).toEqual([
      { userId: ada.userId, status: 'contacts' },
    ]);
  });

  it('conversations: upper-case ids in the path, the body and a cursor name the same conversation and users', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const dm = await call(ada, 'POST', '/conversations/direct', { userId: bob.userId.toUpperCase() });
    const again = await call(bob, 'POST', '/conversations/direct', { userId: ada.userId });
    const conversationId = dm.body.conversationId as string;
    expect(conversationId).toBe(conversationId.toLowerCase());
    expect(again.body.conversationId).toBe(conversationId);
    const sent = await call(ada, 'POST', `/conversations/${conversationId.toUpperCase()}/messages`, {
      clientMessageId: 'm',
      text: 'hi',
      mentions: { userIds: [bob.userId.toUpperCase()], all: false },
    });
    expect([sent.status, sent.body.conversationId]).toEqual([201, conversationId]);
    const details = await call(
      bob,
      'GET',
      `/conversations/${conversationId.toUpperCase()}?after=${after([sent.body.checkpoint])}`,
    );
    expect([details.status, details.body.conversationId]).toEqual([200, conversationId]);
    const inbox = await call(bob, 'GET', `/conversations?after=${after([sent.body.checkpoint])}`);
    expect(inbox.body.conversations).toEqual([
      expect.objectContaining({ conversationId, unreadCount: 1, mentionCount: 1 }),
    ]);
  });
});

describe('commands naming a user who does not exist', () => {
  it('unblocking an unknown user is 404 USER.NOT_FOUND, as blocking one is', async () => {
    const ada = await signUp(app, 'ada');
    const unknown = randomUUID();
    for (const method of ['PUT', 'DELETE'] as const) {
      const answer = await call(ada, method, `/blocks/${unknown}`);
      expect([method, answer.status, (answer.body.error as { code: string } | undefined)?.code]).toEqual([
        method,
        404,
        'USER.NOT_FOUND',
      ]);
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
          call(r, 'PUT', `/blocks/${s.userId}`),
          call(s, 'POST', `/contacts/${r.userId}`),
        ]);
        return { r, s, blocked, asked };
      }),
    );
    for (const { r, blocked, asked } of results) {
      expect([blocked.status, asked.status]).toEqual([200, 200]);
      const contacts = await call(
        r,
        'GET',
        `/contacts?after=${after([blocked.body.checkpoint, asked.body.checkpoint])}`,
      );
      expect(contacts.body.contacts).toEqual([]);
    }
  }, 60_000);
});
