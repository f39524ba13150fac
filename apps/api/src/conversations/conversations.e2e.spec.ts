import { range } from '@herald/testing';
import { inboxWrites } from '@herald/projections/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components, operations } from '../client/schema.js';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, everyPage } from '../test-client.js';

let app: NestFastifyApplication;

beforeAll(async () => {
  // A database of its own: read-your-writes waits on this app's projections, which must be the active ones.
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type User = TestUser;
type ErrorBody = components['schemas']['Error'];
type SendBody = operations['ConversationsController_send']['requestBody']['content']['application/json'];

const user = (name: string): Promise<TestUser> => signUp(app, name);
const api = (who: User) => apiOf(app, who);

const send = (who: User, id: string, text: string, extra: Omit<SendBody, 'clientMessageId' | 'text'> = {}) =>
  api(who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text, ...extra },
  });

/** A request the OpenAPI document forbids, sent as is by `app.inject`: its status and JSON body. */
async function forbidden(who: User, method: 'GET' | 'POST', url: string, payload?: object) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: response.json<ErrorBody>() };
}

describe('conversations over HTTP', () => {
  it('a direct conversation and a group, read back right after each write', async () => {
    const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);

    const dm = await api(ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    expect(dm.response.status).toBe(201);
    const again = await api(bob).POST('/conversations/direct', { body: { userId: ada.userId } });
    expect(again.data?.conversationId).toBe(dm.data!.conversationId);

    const hello = await send(ada, dm.data!.conversationId, 'hello bob');
    expect(hello.data).toMatchObject({ seq: 1 });
    const page = await api(bob).GET('/conversations/{id}/messages', {
      params: { path: { id: dm.data!.conversationId }, query: { after: hello.data!.checkpoint! } },
    });
    expect(page.data?.messages).toMatchObject([{ seq: 1, text: 'hello bob', senderId: ada.userId }]);

    const group = await api(ada).POST('/conversations/groups', { body: { name: 'team', memberIds: [bob.userId] } });
    const id = group.data!.conversationId;
    await api(ada).POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId: cy.userId } });
    const joined = await api(cy).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } });
    expect(joined.response.status).toBe(200);
    const m1 = await send(bob, id, 'first', {});
    const m2 = await send(cy, id, 'a reply', {
      replyToMessageId: m1.data!.messageId,
      mentions: { userIds: [bob.userId] },
    });
    await api(ada).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
      params: { path: { id, messageId: m1.data!.messageId, emoji: '👍' } },
    });
    const edited = await api(bob).PATCH('/conversations/{id}/messages/{messageId}', {
      params: { path: { id, messageId: m1.data!.messageId } },
      body: { text: 'first!' },
    });
    const after = edited.data!.checkpoint!;
    const list = await api(cy).GET('/conversations', { params: { query: { after } } });
    expect(list.data?.conversations.find((c) => c.conversationId === id)).toMatchObject({
      messageCount: 2,
      lastMessage: { preview: 'a reply' },
    });
    const messages = await api(cy).GET('/conversations/{id}/messages', { params: { path: { id }, query: { after } } });
    expect(messages.data?.messages).toMatchObject([
      {
        messageId: m2.data!.messageId,
        replyToMessageId: m1.data!.messageId,
        mentions: { userIds: [bob.userId], all: false },
      },
      { messageId: m1.data!.messageId, text: 'first!', replyCount: 1, reactions: { '👍': [ada.userId] } },
    ]);
    const details = await api(cy).GET('/conversations/{id}', { params: { path: { id }, query: { after } } });
    expect(details.data).toMatchObject({ conversationId: id, name: 'team', memberCount: 3 });
    const members = await api(cy).GET('/conversations/{id}/members', { params: { path: { id } } });
    expect(members.data?.members.map((m) => m.role).sort()).toEqual(['member', 'member', 'owner']);
    expect(members.data?.nextCursor).toBeNull();
  });

  it('racing retries of one send write it once', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await api(ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    const id = dm.data!.conversationId;
    const payload = { clientMessageId: 'retry-me', text: 'once' };
    const answers = await Promise.all(
      range(8).map(() => api(ada).POST('/conversations/{id}/messages', { params: { path: { id } }, body: payload })),
    );
    expect(new Set(answers.map((a) => a.data?.messageId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.data?.seq))).toEqual(new Set([1]));
    const last = answers.find((a) => a.data?.checkpoint)!.data!.checkpoint!;
    const page = await api(ada).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after: last } },
    });
    expect(page.data?.messages).toHaveLength(1);
  });

  it('pages by seq both ways', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await api(ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    const id = dm.data!.conversationId;
    let last: components['schemas']['SendAnswer'] | undefined;
    for (const i of range(7)) last = (await send(ada, id, `m${i}`)).data;
    const messages = (query: operations['ConversationsController_messages']['parameters']['query']) =>
      api(bob).GET('/conversations/{id}/messages', { params: { path: { id }, query } });
    const newest = await messages({ limit: '3', after: last!.checkpoint! });
    expect(newest.data?.messages.map((m) => m.seq)).toEqual([7, 6, 5]);
    const older = await messages({ limit: '3', before: String(newest.data!.nextCursor) });
    expect(older.data?.messages.map((m) => m.seq)).toEqual([4, 3, 2]);
    const forward = await messages({ limit: '4', since: '2' });
    expect(forward.data).toEqual(expect.objectContaining({ nextCursor: 6 }));
    expect(forward.data?.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    const capped = await messages({ limit: '1000' });
    expect(capped.response.status).toBe(400);
  });

  it('members only: outsiders learn nothing; who left keeps history up to leaving; admins manage', async () => {
    const [ada, bob, eve] = await Promise.all([user('ada'), user('bob'), user('eve')]);
    const group = await api(ada).POST('/conversations/groups', { body: { name: 'private', memberIds: [bob.userId] } });
    const id = group.data!.conversationId;
    await send(ada, id, 'before bob left');
    const left = await api(bob).POST('/conversations/{id}/leave', { params: { path: { id } } });
    const after = await send(ada, id, 'after bob left');
    const checkpoint = after.data!.checkpoint!;

    const missing = randomUUID();
    const denials: unknown[] = [];
    const reads = [
      [
        '',
        (c: string) =>
          api(eve).GET('/conversations/{id}', { params: { path: { id: c }, query: { after: checkpoint } } }),
      ],
      [
        '/messages',
        (c: string) =>
          api(eve).GET('/conversations/{id}/messages', { params: { path: { id: c }, query: { after: checkpoint } } }),
      ],
      [
        '/members',
        (c: string) =>
          api(eve).GET('/conversations/{id}/members', { params: { path: { id: c }, query: { after: checkpoint } } }),
      ],
    ] as const;
    for (const conversation of [id, missing]) {
      for (const [path, read] of reads) {
        const url = `/conversations/${conversation}${path}`;
        const denied = await read(conversation);
        expect(denied.response.status, url).toBe(404);
        denials.push(denied.error);
      }
    }
    // The same answer whether the conversation exists or not.
    expect(new Set(denials.map((d) => JSON.stringify(d))).size).toBe(1);
    expect(denials[0]).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    expect((await send(eve, id, 'let me in')).response.status).toBe(404);
    expect((await send(eve, missing, 'let me in')).response.status).toBe(404);

    const history = await api(bob).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after: checkpoint } },
    });
    expect(history.data?.messages.map((m) => m.text)).toEqual(['before bob left']);
    expect(left.data?.seq).toBeGreaterThan(0);
    expect((await send(bob, id, 'still here?')).response.status).toBe(404);
    expect((await api(bob).GET('/conversations/{id}', { params: { path: { id } } })).response.status).toBe(404);
    expect((await api(bob).GET('/conversations/{id}/members', { params: { path: { id } } })).response.status).toBe(404);

    await api(ada).POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId: eve.userId } });
    await api(eve).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } });
    expect(
      (await api(eve).PATCH('/conversations/{id}', { params: { path: { id } }, body: { name: 'mine now' } })).response
        .status,
    ).toBe(403);
    expect(
      (await api(eve).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: ada.userId } } }))
        .response.status,
    ).toBe(403);
    expect(
      (
        await api(eve).POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: 'x', text: '@all', mentions: { all: true } },
        })
      ).response.status,
    ).toBe(403);
    const kicked = await api(ada).DELETE('/conversations/{id}/members/{userId}', {
      params: { path: { id, userId: eve.userId } },
    });
    expect(kicked.response.status).toBe(200);
    expect((await send(eve, id, 'gone')).response.status).toBe(404);
  });

  it('invitation links: admins make and revoke them; the token lets anyone join until revoked', async () => {
    const [ada, bob, cy, dan] = await Promise.all([user('ada'), user('bob'), user('cy'), user('dan')]);
    const group = await api(ada).POST('/conversations/groups', { body: { name: 'open', memberIds: [bob.userId] } });
    const id = group.data!.conversationId;
    const join = (who: User, token: string) =>
      api(who).POST('/conversations/{id}/join', { params: { path: { id } }, body: { token } });
    expect((await api(bob).POST('/conversations/{id}/links', { params: { path: { id } } })).response.status).toBe(403);
    const link = await api(ada).POST('/conversations/{id}/links', { params: { path: { id } } });
    expect(link.response.status).toBe(201);
    expect((await join(cy, link.data!.token)).response.status).toBe(200);
    expect((await send(cy, id, 'hi, I came by link')).response.status).toBe(201);
    expect((await join(dan, 'A'.repeat(43))).response.status).toBe(404);
    await api(ada).DELETE('/conversations/{id}/links/{linkId}', {
      params: { path: { id, linkId: link.data!.linkId } },
    });
    expect((await join(dan, link.data!.token)).response.status).toBe(404);
  });

  it('users named must exist: 404 USER.NOT_FOUND, and nothing is written', async () => {
    const ada = await user('ada');
    const nobody = randomUUID();
    const dm = await api(ada).POST('/conversations/direct', { body: { userId: nobody } });
    expect([dm.response.status, dm.error?.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const made = await api(ada).POST('/conversations/groups', { body: { name: 'g', memberIds: [nobody] } });
    expect([made.response.status, made.error?.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const group = await api(ada).POST('/conversations/groups', { body: { name: 'real' } });
    const invited = await api(ada).POST('/conversations/{id}/invitations', {
      params: { path: { id: group.data!.conversationId } },
      body: { userId: nobody },
    });
    expect([invited.response.status, invited.error?.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const inbox = await api(ada).GET('/conversations', { params: { query: { after: group.data!.checkpoint! } } });
    expect(inbox.data).toEqual({
      conversations: [expect.objectContaining({ conversationId: group.data!.conversationId })],
      nextCursor: null,
    });
    const seq = await send(ada, group.data!.conversationId, 'still at seq 1');
    expect(seq.data?.seq).toBe(1);
  });

  it('bad input: 4xx with the error body, never a 5xx', async () => {
    const ada = await user('ada');
    const group = await api(ada).POST('/conversations/groups', { body: { name: 'g' } });
    const id = group.data!.conversationId;
    type Answer = { status: number; code: unknown };
    /** A typed request's status and error code. */
    const typed = async (request: Promise<{ error?: ErrorBody; response: Response }>): Promise<Answer> => {
      const { error, response } = await request;
      return { status: response.status, code: error?.error.code };
    };
    /** A request the document forbids: its status and error code. */
    const raw = async (method: 'GET' | 'POST', url: string, payload?: object): Promise<Answer> => {
      const { status, body } = await forbidden(ada, method, url, payload);
      return { status, code: body.error.code };
    };
    const messages = `/conversations/${id}/messages`;
    const noMessage = randomUUID();
    const cases: [string, () => Promise<Answer>][] = [
      // The document forbids it: clientMessageId is required.
      [`POST ${messages}`, () => raw('POST', messages, { text: 'no client id' })],
      // The document forbids it: text is at most 16384 characters.
      [`POST ${messages}`, () => raw('POST', messages, { clientMessageId: 'a', text: 'x'.repeat(16_385) })],
      // The document forbids it: no property beyond those it lists.
      [`POST ${messages}`, () => raw('POST', messages, { clientMessageId: 'a', text: 'hi', extra: 1 })],
      // The document forbids it: text is a string.
      [`POST ${messages}`, () => raw('POST', messages, { clientMessageId: 'a', text: 7 })],
      [
        `POST ${messages}`,
        () =>
          typed(
            api(ada).POST('/conversations/{id}/messages', {
              params: { path: { id } },
              body: { clientMessageId: 'a', text: '' },
            }),
          ),
      ],
      // The document forbids it: the conversation id is a UUID.
      [
        'POST /conversations/not-a-uuid/messages',
        () => raw('POST', '/conversations/not-a-uuid/messages', { clientMessageId: 'a', text: 'hi' }),
      ],
      // The document forbids it: a group's name is at least one character.
      ['POST /conversations/groups', () => raw('POST', '/conversations/groups', { name: '' })],
      [
        'POST /conversations/direct',
        () => typed(api(ada).POST('/conversations/direct', { body: { userId: ada.userId } })),
      ],
      [
        `PATCH /conversations/${id}`,
        () => typed(api(ada).PATCH('/conversations/{id}', { params: { path: { id } }, body: {} })),
      ],
      [
        `GET ${messages}?limit=0`,
        () => typed(api(ada).GET('/conversations/{id}/messages', { params: { path: { id }, query: { limit: '0' } } })),
      ],
      [
        `GET ${messages}?after=not-a-checkpoint`,
        () =>
          typed(
            api(ada).GET('/conversations/{id}/messages', {
              params: { path: { id }, query: { after: 'not-a-checkpoint' } },
            }),
          ),
      ],
      // The document forbids it: bogus is not a parameter of the operation.
      [`GET ${messages}?bogus=1`, () => raw('GET', `${messages}?bogus=1`)],
      [
        'GET /conversations?limit=101',
        () => typed(api(ada).GET('/conversations', { params: { query: { limit: '101' } } })),
      ],
      [
        `GET /conversations/${id}/members?limit=0`,
        () => typed(api(ada).GET('/conversations/{id}/members', { params: { path: { id }, query: { limit: '0' } } })),
      ],
      // The document forbids it: the members' cursor is a user id.
      [`GET /conversations/${id}/members?cursor=nope`, () => raw('GET', `/conversations/${id}/members?cursor=nope`)],
      [
        `PUT ${messages}/${noMessage}/reactions/x`,
        () =>
          typed(
            api(ada).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
              params: { path: { id, messageId: noMessage, emoji: 'x' } },
            }),
          ),
      ],
    ];
    for (const [what, request] of cases) {
      const response = await request();
      expect(response.status, what).toBeGreaterThanOrEqual(400);
      expect(response.status, what).toBeLessThan(500);
      expect(typeof response.code).toBe('string');
    }
  });
});

describe('inbox', () => {
  it('unread and mention counts at each step, whatever the group size costs nothing per member', async () => {
    const [ada, bob, cy, ...quiet] = await Promise.all([
      user('ada'),
      user('bob'),
      user('cy'),
      ...range(20).map((i) => user(`quiet${i}`)),
    ]);
    const group = await api(ada).POST('/conversations/groups', {
      body: { name: 'inbox', memberIds: [bob.userId, cy.userId, ...quiet.map((u) => u.userId)] },
    });
    const id = group.data!.conversationId;
    const inbox = async (who: User, after: string | null | undefined) => {
      const list = await api(who).GET('/conversations', { params: { query: after ? { after } : {} } });
      const row = list.data!.conversations.find((c) => c.conversationId === id)!;
      return { unread: row.unreadCount, mentions: row.mentionCount };
    };
    // What a send wrote to the members' inbox rows: xmin names the transaction that last
    // wrote a row, so a row whose xmin changed was written, however it was.
    const db = app.get(DataSource);
    const rows = () => inboxWrites(db, id);
    const writtenSince = async (before: Awaited<ReturnType<typeof rows>>) => {
      const now = await rows();
      expect(now.members.size).toBe(before.members.size);
      return {
        members: [...now.members]
          .filter(([userId, xmin]) => before.members.get(userId) !== xmin)
          .map(([userId]) => userId),
        mentions: now.mentions - before.mentions,
      };
    };
    expect(await inbox(ada, group.data!.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    let before = await rows();
    expect(before.members.size).toBe(23);

    // Each send moves the sender's own read marker, and writes a mention row only for whom it
    // names (one for @all): nothing for the other 22 members.
    const m1 = await send(ada, id, 'hello all');
    expect(await inbox(bob, m1.data?.checkpoint)).toEqual({ unread: 1, mentions: 0 });
    expect(await inbox(ada, m1.data?.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 0 });

    before = await rows();
    const m2 = await send(ada, id, 'bob, look', { mentions: { userIds: [bob.userId] } });
    expect(await inbox(bob, m2.data?.checkpoint)).toEqual({ unread: 2, mentions: 1 });
    expect(await inbox(cy, m2.data?.checkpoint)).toEqual({ unread: 2, mentions: 0 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 1 });

    before = await rows();
    const m3 = await send(ada, id, 'everyone!', { mentions: { all: true } });
    expect(await inbox(cy, m3.data?.checkpoint)).toEqual({ unread: 3, mentions: 1 });
    expect(await inbox(bob, m3.data?.checkpoint)).toEqual({ unread: 3, mentions: 2 });
    expect(await inbox(quiet[0]!, m3.data?.checkpoint)).toEqual({ unread: 3, mentions: 1 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 1 });

    const read = (who: User, upToSeq: number) =>
      api(who).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq } });
    const marked = await read(bob, m2.data!.seq);
    expect(marked.response.status).toBe(200);
    expect(await inbox(bob, marked.data?.checkpoint)).toEqual({ unread: 1, mentions: 1 });
    const reply = await send(bob, id, 'seen');
    // Sending reads everything before it.
    expect(await inbox(bob, reply.data?.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect(await inbox(ada, reply.data?.checkpoint)).toEqual({ unread: 1, mentions: 0 });
    // A read marker never moves back.
    const back = await read(bob, 1);
    expect(await inbox(bob, back.data?.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect((await read(bob, 999)).response.status).toBe(400);
    const [eve] = await Promise.all([user('eve')]);
    expect((await read(eve, 1)).response.status).toBe(404);
  });

  it('pages by keyset: every conversation once, most recently active first, to a null cursor', async () => {
    const ada = await user('ada');
    // Made at once, some may share a millisecond: their ids order those.
    const groups = await Promise.all(
      range(5).map((i) => api(ada).POST('/conversations/groups', { body: { name: `page ${i}` } })),
    );
    // Activity moves the first one made to the front.
    const bump = await send(ada, groups[0]!.data!.conversationId, 'bump');
    const whole = await api(ada).GET('/conversations', {
      params: { query: { limit: '5', after: bump.data!.checkpoint! } },
    });
    // Exactly a page's worth: no empty page after it.
    expect(whole.data?.nextCursor).toBeNull();
    const order = [...whole.data!.conversations].sort(
      (a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || a.conversationId.localeCompare(b.conversationId),
    );
    expect(whole.data?.conversations).toEqual(order);
    expect(new Set(order.map((c) => c.conversationId))).toEqual(new Set(groups.map((g) => g.data?.conversationId)));
    expect(order[0]!.conversationId).toBe(groups[0]!.data?.conversationId);

    const pages = (
      await everyPage((cursor) => api(ada).GET('/conversations', { params: { query: { limit: '2', cursor } } }))
    ).map((page) => page.conversations);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(order);
  });

  it('a cursor the inbox did not give is a 400 with the error body, never a 5xx', async () => {
    const ada = await user('ada');
    const encoded = (text: string): string => Buffer.from(text).toString('base64url');
    type Answer = { status: number; body: unknown };
    const typed = async (cursor: string): Promise<Answer> => {
      const { data, error, response } = await api(ada).GET('/conversations', { params: { query: { cursor } } });
      return { status: response.status, body: error ?? data };
    };
    // The document forbids it: a cursor is 1 to 100 of A-Z a-z 0-9 _ -.
    const raw = (cursor: string): Promise<Answer> =>
      forbidden(ada, 'GET', `/conversations?cursor=${encodeURIComponent(cursor)}`);
    const bad: [string, (cursor: string) => Promise<Answer>][] = [
      ['not a cursor!', raw],
      ['x'.repeat(101), raw],
      [randomUUID(), typed],
      [encoded(`123|not-a-uuid`), typed],
      [encoded(`12.5|${randomUUID()}`), typed],
      [encoded(`${'9'.repeat(17)}|${randomUUID()}`), typed],
      [encoded(`2024-01-01 00:00:00+00|${randomUUID()}`), typed],
      [encoded(`123|${randomUUID()}|more`), typed],
    ];
    for (const [cursor, request] of bad) {
      const refused = await request(cursor);
      expect(refused.status, cursor).toBe(400);
      expect(refused.body, cursor).toEqual({
        error: {
          code: 'REQUEST.INVALID',
          message: 'Invalid request query',
          details: [expect.objectContaining({ path: 'cursor' })],
        },
      });
    }
    // The document forbids it: the cursor is one string, not two.
    const twice = await forbidden(ada, 'GET', `/conversations?cursor=${encoded(`1|${randomUUID()}`)}&cursor=x`);
    expect(twice.status).toBe(400);
    // Well formed, but nothing is that old: an empty last page.
    const past = await api(ada).GET('/conversations', {
      params: { query: { cursor: encoded(`-9999999999999999|${randomUUID()}`) } },
    });
    expect(past.data).toEqual({ conversations: [], nextCursor: null });
  });
});

describe('members', () => {
  it('current members by user id, a page at a time, with their count in the details', async () => {
    const [ada, leaver, ...rest] = await Promise.all([
      user('ada'),
      user('leaver'),
      ...range(4).map((i) => user(`member${i}`)),
    ]);
    const group = await api(ada).POST('/conversations/groups', {
      body: { name: 'five', memberIds: [leaver.userId, ...rest.map((u) => u.userId)] },
    });
    const id = group.data!.conversationId;
    const left = await api(leaver).POST('/conversations/{id}/leave', { params: { path: { id } } });
    const after = left.data!.checkpoint!;

    const details = await api(ada).GET('/conversations/{id}', { params: { path: { id }, query: { after } } });
    expect(details.data?.memberCount).toBe(5);
    expect(details.data).not.toHaveProperty('members');

    const pages = (
      await everyPage((cursor) =>
        api(rest[0]!).GET('/conversations/{id}/members', {
          params: { path: { id }, query: { limit: '2', after, cursor } },
        }),
      )
    ).map((page) => page.members);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    // Who left is not listed.
    expect(pages.flat()).toEqual(
      [
        { userId: ada.userId, role: 'owner', silencedUntil: null },
        ...rest.map((u) => ({ userId: u.userId, role: 'member', silencedUntil: null })),
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    expect(
      (await api(ada).GET('/conversations/{id}/members', { params: { path: { id }, query: { limit: '101' } } }))
        .response.status,
    ).toBe(400);
  });
});

describe('receipts', () => {
  it('members see who received and read how far, a page at a time; nobody else', async () => {
    const [ada, bob, cy, eve] = await Promise.all([user('ada'), user('bob'), user('cy'), user('eve')]);
    const group = await api(ada).POST('/conversations/groups', {
      body: { name: 'receipts', memberIds: [bob.userId, cy.userId] },
    });
    const id = group.data!.conversationId;
    const m1 = await send(ada, id, 'one');
    await send(ada, id, 'two');
    const seq = m1.data!.seq;
    await api(bob).POST('/conversations/{id}/delivered', { params: { path: { id } }, body: { upToSeq: seq + 1 } });
    const read = await api(bob).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq: seq } });

    const receipts = (who: User, query: operations['ConversationsController_receipts']['parameters']['query']) =>
      api(who).GET('/conversations/{id}/receipts', { params: { path: { id }, query } });
    const all = await receipts(cy, { after: read.data!.checkpoint! });
    expect(all.response.status).toBe(200);
    const byUser = new Map(all.data!.receipts.map((r) => [r.userId, r]));
    expect(byUser.get(bob.userId)).toEqual({ userId: bob.userId, readSeq: seq, deliveredSeq: seq + 1 });
    // Sending reads what came before it; nobody delivered anything for ada.
    expect(byUser.get(ada.userId)).toMatchObject({ readSeq: seq + 1, deliveredSeq: -1 });
    expect(byUser.get(cy.userId)).toMatchObject({ readSeq: 0 });
    expect(all.data?.nextCursor).toBeNull();

    // Pages of one, by user id, each member once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data?: components['schemas']['Receipts'] } = await receipts(ada, {
        limit: '1',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.data!.receipts.map((r) => r.userId));
      cursor = page.data!.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ada.userId, bob.userId, cy.userId].sort());

    expect((await receipts(eve, undefined)).response.status).toBe(404);
    expect((await receipts(ada, { limit: '101' })).response.status).toBe(400);
    // The document forbids it: the receipts' cursor is a user id.
    expect((await forbidden(ada, 'GET', `/conversations/${id}/receipts?cursor=nope`)).status).toBe(400);
  });
});
