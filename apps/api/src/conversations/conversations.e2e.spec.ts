import { range } from '@herald/testing';
import { inboxWrites } from '@herald/projections/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everyPage, signUp, testApp, type TestUser } from '../test-app.js';

let app: NestFastifyApplication;

beforeAll(async () => {
  // A database of its own: read-your-writes waits on this app's projections, which must be the active ones.
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type User = TestUser;
interface Answer {
  conversationId: string;
  seq: number;
  checkpoint: string | null;
  messageId?: string;
}

const user = (name: string): Promise<TestUser> => signUp(app, name);

async function call<T = Answer>(
  who: User,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  payload?: object,
) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(payload ? { payload } : {}),
  });
  return { status: response.statusCode, body: response.json<T>() };
}

/** A page of the inbox, its rows with at least a conversation id. */
interface Inbox<Row = object> {
  conversations: (Row & { conversationId: string })[];
  nextCursor: string | null;
}
interface Members {
  members: { userId: string; role: string }[];
  nextCursor: string | null;
}

const send = (who: User, conversationId: string, text: string, extra: object = {}) =>
  call(who, 'POST', `/conversations/${conversationId}/messages`, { clientMessageId: randomUUID(), text, ...extra });

describe('conversations over HTTP', () => {
  it('a direct conversation and a group, read back right after each write', async () => {
    const [ada, bob, cy] = await Promise.all([user('ada'), user('bob'), user('cy')]);

    const dm = await call(ada, 'POST', '/conversations/direct', { userId: bob.userId });
    expect(dm.status).toBe(201);
    const again = await call(bob, 'POST', '/conversations/direct', { userId: ada.userId });
    expect(again.body.conversationId).toBe(dm.body.conversationId);

    const hello = await send(ada, dm.body.conversationId, 'hello bob');
    expect(hello.body).toMatchObject({ seq: 1 });
    const page = await call<{ messages: { text: string; seq: number; senderId: string }[] }>(
      bob,
      'GET',
      `/conversations/${dm.body.conversationId}/messages?after=${hello.body.checkpoint}`,
    );
    expect(page.body.messages).toMatchObject([{ seq: 1, text: 'hello bob', senderId: ada.userId }]);

    const group = await call(ada, 'POST', '/conversations/groups', { name: 'team', memberIds: [bob.userId] });
    const id = group.body.conversationId;
    await call(ada, 'POST', `/conversations/${id}/invitations`, { userId: cy.userId });
    const joined = await call(cy, 'POST', `/conversations/${id}/invitations/accept`);
    expect(joined.status).toBe(200);
    const m1 = await send(bob, id, 'first', {});
    const m2 = await send(cy, id, 'a reply', {
      replyToMessageId: m1.body.messageId,
      mentions: { userIds: [bob.userId] },
    });
    await call(ada, 'PUT', `/conversations/${id}/messages/${m1.body.messageId}/reactions/${encodeURIComponent('👍')}`);
    const edited = await call(bob, 'PATCH', `/conversations/${id}/messages/${m1.body.messageId}`, { text: 'first!' });
    const list = await call<Inbox<{ messageCount: number; lastMessage: { preview: string } }>>(
      cy,
      'GET',
      `/conversations?after=${edited.body.checkpoint}`,
    );
    expect(list.body.conversations.find((c) => c.conversationId === id)).toMatchObject({
      messageCount: 2,
      lastMessage: { preview: 'a reply' },
    });
    const messages = await call<{ messages: Record<string, unknown>[] }>(
      cy,
      'GET',
      `/conversations/${id}/messages?after=${edited.body.checkpoint}`,
    );
    expect(messages.body.messages).toMatchObject([
      {
        messageId: m2.body.messageId,
        replyToMessageId: m1.body.messageId,
        mentions: { userIds: [bob.userId], all: false },
      },
      { messageId: m1.body.messageId, text: 'first!', replyCount: 1, reactions: { '👍': [ada.userId] } },
    ]);
    const details = await call<{ memberCount: number }>(
      cy,
      'GET',
      `/conversations/${id}?after=${edited.body.checkpoint}`,
    );
    expect(details.body).toMatchObject({ conversationId: id, name: 'team', memberCount: 3 });
    const members = await call<Members>(cy, 'GET', `/conversations/${id}/members`);
    expect(members.body.members.map((m) => m.role).sort()).toEqual(['member', 'member', 'owner']);
    expect(members.body.nextCursor).toBeNull();
  });

  it('racing retries of one send write it once', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await call(ada, 'POST', '/conversations/direct', { userId: bob.userId });
    const payload = { clientMessageId: 'retry-me', text: 'once' };
    const answers = await Promise.all(
      range(8).map(() => call(ada, 'POST', `/conversations/${dm.body.conversationId}/messages`, payload)),
    );
    expect(new Set(answers.map((a) => a.body.messageId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.seq))).toEqual(new Set([1]));
    const last = answers.find((a) => a.body.checkpoint)!.body.checkpoint;
    const page = await call<{ messages: unknown[] }>(
      ada,
      'GET',
      `/conversations/${dm.body.conversationId}/messages?after=${last}`,
    );
    expect(page.body.messages).toHaveLength(1);
  });

  it('pages by seq both ways', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const dm = await call(ada, 'POST', '/conversations/direct', { userId: bob.userId });
    const id = dm.body.conversationId;
    let last: Answer | undefined;
    for (const i of range(7)) last = (await send(ada, id, `m${i}`)).body;
    type Page = { messages: { seq: number }[]; nextCursor: number | null };
    const newest = await call<Page>(bob, 'GET', `/conversations/${id}/messages?limit=3&after=${last!.checkpoint}`);
    expect(newest.body.messages.map((m) => m.seq)).toEqual([7, 6, 5]);
    const older = await call<Page>(
      bob,
      'GET',
      `/conversations/${id}/messages?limit=3&before=${newest.body.nextCursor}`,
    );
    expect(older.body.messages.map((m) => m.seq)).toEqual([4, 3, 2]);
    const forward = await call<Page>(bob, 'GET', `/conversations/${id}/messages?limit=4&since=2`);
    expect(forward.body).toEqual(expect.objectContaining({ nextCursor: 6 }));
    expect(forward.body.messages.map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    const capped = await call(bob, 'GET', `/conversations/${id}/messages?limit=1000`);
    expect(capped.status).toBe(400);
  });

  it('members only: outsiders learn nothing; who left keeps history up to leaving; admins manage', async () => {
    const [ada, bob, eve] = await Promise.all([user('ada'), user('bob'), user('eve')]);
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'private', memberIds: [bob.userId] });
    const id = group.body.conversationId;
    await send(ada, id, 'before bob left');
    const left = await call(bob, 'POST', `/conversations/${id}/leave`);
    const after = await send(ada, id, 'after bob left');

    const missing = randomUUID();
    const denials: unknown[] = [];
    for (const url of [
      `/conversations/${id}`,
      `/conversations/${id}/messages`,
      `/conversations/${id}/members`,
      `/conversations/${missing}`,
      `/conversations/${missing}/messages`,
      `/conversations/${missing}/members`,
    ]) {
      const denied = await call(eve, 'GET', `${url}?after=${after.body.checkpoint}`);
      expect(denied.status, url).toBe(404);
      denials.push(denied.body);
    }
    // The same answer whether the conversation exists or not.
    expect(new Set(denials.map((d) => JSON.stringify(d))).size).toBe(1);
    expect(denials[0]).toMatchObject({ error: { code: 'CONVERSATION.NOT_FOUND' } });
    expect((await send(eve, id, 'let me in')).status).toBe(404);
    expect((await send(eve, missing, 'let me in')).status).toBe(404);

    const history = await call<{ messages: { text: string }[] }>(
      bob,
      'GET',
      `/conversations/${id}/messages?after=${after.body.checkpoint}`,
    );
    expect(history.body.messages.map((m) => m.text)).toEqual(['before bob left']);
    expect(left.body.seq).toBeGreaterThan(0);
    expect((await send(bob, id, 'still here?')).status).toBe(404);
    expect((await call(bob, 'GET', `/conversations/${id}`)).status).toBe(404);
    expect((await call(bob, 'GET', `/conversations/${id}/members`)).status).toBe(404);

    await call(ada, 'POST', `/conversations/${id}/invitations`, { userId: eve.userId });
    await call(eve, 'POST', `/conversations/${id}/invitations/accept`);
    expect((await call(eve, 'PATCH', `/conversations/${id}`, { name: 'mine now' })).status).toBe(403);
    expect((await call(eve, 'DELETE', `/conversations/${id}/members/${ada.userId}`)).status).toBe(403);
    expect(
      (
        await call(eve, 'POST', `/conversations/${id}/messages`, {
          clientMessageId: 'x',
          text: '@all',
          mentions: { all: true },
        })
      ).status,
    ).toBe(403);
    const kicked = await call(ada, 'DELETE', `/conversations/${id}/members/${eve.userId}`);
    expect(kicked.status).toBe(200);
    expect((await send(eve, id, 'gone')).status).toBe(404);
  });

  it('invitation links: admins make and revoke them; the token lets anyone join until revoked', async () => {
    const [ada, bob, cy, dan] = await Promise.all([user('ada'), user('bob'), user('cy'), user('dan')]);
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'open', memberIds: [bob.userId] });
    const id = group.body.conversationId;
    expect((await call(bob, 'POST', `/conversations/${id}/links`)).status).toBe(403);
    const link = await call<{ token: string; linkId: string }>(ada, 'POST', `/conversations/${id}/links`);
    expect(link.status).toBe(201);
    expect((await call(cy, 'POST', `/conversations/${id}/join`, { token: link.body.token })).status).toBe(200);
    expect((await send(cy, id, 'hi, I came by link')).status).toBe(201);
    expect((await call(dan, 'POST', `/conversations/${id}/join`, { token: 'A'.repeat(43) })).status).toBe(404);
    await call(ada, 'DELETE', `/conversations/${id}/links/${link.body.linkId}`);
    expect((await call(dan, 'POST', `/conversations/${id}/join`, { token: link.body.token })).status).toBe(404);
  });

  it('users named must exist: 404 USER.NOT_FOUND, and nothing is written', async () => {
    const ada = await user('ada');
    const nobody = randomUUID();
    type Refusal = { error: { code: string } };
    const dm = await call<Refusal>(ada, 'POST', '/conversations/direct', { userId: nobody });
    expect([dm.status, dm.body.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const made = await call<Refusal>(ada, 'POST', '/conversations/groups', { name: 'g', memberIds: [nobody] });
    expect([made.status, made.body.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'real' });
    const invited = await call<Refusal>(ada, 'POST', `/conversations/${group.body.conversationId}/invitations`, {
      userId: nobody,
    });
    expect([invited.status, invited.body.error.code]).toEqual([404, 'USER.NOT_FOUND']);
    const inbox = await call<Inbox>(ada, 'GET', `/conversations?after=${group.body.checkpoint}`);
    expect(inbox.body).toEqual({
      conversations: [expect.objectContaining({ conversationId: group.body.conversationId })],
      nextCursor: null,
    });
    const seq = await send(ada, group.body.conversationId, 'still at seq 1');
    expect(seq.body.seq).toBe(1);
  });

  it('bad input: 4xx with the error body, never a 5xx', async () => {
    const ada = await user('ada');
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'g' });
    const id = group.body.conversationId;
    const cases: [string, string, object | undefined][] = [
      ['POST', `/conversations/${id}/messages`, { text: 'no client id' }],
      ['POST', `/conversations/${id}/messages`, { clientMessageId: 'a', text: 'x'.repeat(16_385) }],
      ['POST', `/conversations/${id}/messages`, { clientMessageId: 'a', text: 'hi', extra: 1 }],
      ['POST', `/conversations/${id}/messages`, { clientMessageId: 'a', text: 7 }],
      ['POST', `/conversations/${id}/messages`, { clientMessageId: 'a', text: '' }],
      ['POST', `/conversations/not-a-uuid/messages`, { clientMessageId: 'a', text: 'hi' }],
      ['POST', '/conversations/groups', { name: '' }],
      ['POST', '/conversations/direct', { userId: ada.userId }],
      ['PATCH', `/conversations/${id}`, {}],
      ['GET', `/conversations/${id}/messages?limit=0`, undefined],
      ['GET', `/conversations/${id}/messages?after=not-a-checkpoint`, undefined],
      ['GET', `/conversations/${id}/messages?bogus=1`, undefined],
      ['GET', '/conversations?limit=101', undefined],
      ['GET', `/conversations/${id}/members?limit=0`, undefined],
      ['GET', `/conversations/${id}/members?cursor=nope`, undefined],
      ['PUT', `/conversations/${id}/messages/${randomUUID()}/reactions/x`, undefined],
    ];
    for (const [method, url, payload] of cases) {
      const response = await call<{ error: { code: string } }>(ada, method as 'GET', url, payload);
      expect(response.status, `${method} ${url}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${method} ${url}`).toBeLessThan(500);
      expect(typeof response.body.error.code).toBe('string');
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
    const group = await call(ada, 'POST', '/conversations/groups', {
      name: 'inbox',
      memberIds: [bob.userId, cy.userId, ...quiet.map((u) => u.userId)],
    });
    const id = group.body.conversationId;
    type Row = { conversationId: string; unreadCount: number; mentionCount: number; readSeq: number };
    const inbox = async (who: User, after: string | null) => {
      const list = await call<Inbox<Row>>(who, 'GET', `/conversations${after ? `?after=${after}` : ''}`);
      const row = list.body.conversations.find((c) => c.conversationId === id)!;
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
    expect(await inbox(ada, group.body.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    let before = await rows();
    expect(before.members.size).toBe(23);

    // Each send moves the sender's own read marker, and writes a mention row only for whom it
    // names (one for @all): nothing for the other 22 members.
    const m1 = await send(ada, id, 'hello all');
    expect(await inbox(bob, m1.body.checkpoint)).toEqual({ unread: 1, mentions: 0 });
    expect(await inbox(ada, m1.body.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 0 });

    before = await rows();
    const m2 = await send(ada, id, 'bob, look', { mentions: { userIds: [bob.userId] } });
    expect(await inbox(bob, m2.body.checkpoint)).toEqual({ unread: 2, mentions: 1 });
    expect(await inbox(cy, m2.body.checkpoint)).toEqual({ unread: 2, mentions: 0 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 1 });

    before = await rows();
    const m3 = await send(ada, id, 'everyone!', { mentions: { all: true } });
    expect(await inbox(cy, m3.body.checkpoint)).toEqual({ unread: 3, mentions: 1 });
    expect(await inbox(bob, m3.body.checkpoint)).toEqual({ unread: 3, mentions: 2 });
    expect(await inbox(quiet[0]!, m3.body.checkpoint)).toEqual({ unread: 3, mentions: 1 });
    expect(await writtenSince(before)).toEqual({ members: [ada.userId], mentions: 1 });

    const read = await call(bob, 'POST', `/conversations/${id}/read`, { upToSeq: m2.body.seq });
    expect(read.status).toBe(200);
    expect(await inbox(bob, read.body.checkpoint)).toEqual({ unread: 1, mentions: 1 });
    const reply = await send(bob, id, 'seen');
    // Sending reads everything before it.
    expect(await inbox(bob, reply.body.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect(await inbox(ada, reply.body.checkpoint)).toEqual({ unread: 1, mentions: 0 });
    // A read marker never moves back.
    const back = await call(bob, 'POST', `/conversations/${id}/read`, { upToSeq: 1 });
    expect(await inbox(bob, back.body.checkpoint)).toEqual({ unread: 0, mentions: 0 });
    expect((await call(bob, 'POST', `/conversations/${id}/read`, { upToSeq: 999 })).status).toBe(400);
    const [eve] = await Promise.all([user('eve')]);
    expect((await call(eve, 'POST', `/conversations/${id}/read`, { upToSeq: 1 })).status).toBe(404);
  });

  it('pages by keyset: every conversation once, most recently active first, to a null cursor', async () => {
    const ada = await user('ada');
    // Made at once, some may share a millisecond: their ids order those.
    const groups = await Promise.all(
      range(5).map((i) => call(ada, 'POST', '/conversations/groups', { name: `page ${i}` })),
    );
    // Activity moves the first one made to the front.
    const bump = await send(ada, groups[0]!.body.conversationId, 'bump');
    type Row = { conversationId: string; lastActivityAt: string };
    const whole = await call<Inbox<Row>>(ada, 'GET', `/conversations?limit=5&after=${bump.body.checkpoint}`);
    // Exactly a page's worth: no empty page after it.
    expect(whole.body.nextCursor).toBeNull();
    const order = [...whole.body.conversations].sort(
      (a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt) || a.conversationId.localeCompare(b.conversationId),
    );
    expect(whole.body.conversations).toEqual(order);
    expect(new Set(order.map((c) => c.conversationId))).toEqual(new Set(groups.map((g) => g.body.conversationId)));
    expect(order[0]!.conversationId).toBe(groups[0]!.body.conversationId);

    const pages = await everyPage<Row>(app, ada, '/conversations?limit=2', 'conversations');
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(order);
  });

  it('a cursor the inbox did not give is a 400 with the error body, never a 5xx', async () => {
    const ada = await user('ada');
    const encoded = (text: string): string => Buffer.from(text).toString('base64url');
    const bad = [
      'not a cursor!',
      'x'.repeat(101),
      randomUUID(),
      encoded(`123|not-a-uuid`),
      encoded(`12.5|${randomUUID()}`),
      encoded(`${'9'.repeat(17)}|${randomUUID()}`),
      encoded(`2024-01-01 00:00:00+00|${randomUUID()}`),
      encoded(`123|${randomUUID()}|more`),
    ];
    for (const cursor of bad) {
      const refused = await call(ada, 'GET', `/conversations?cursor=${encodeURIComponent(cursor)}`);
      expect(refused.status, cursor).toBe(400);
      expect(refused.body, cursor).toEqual({
        error: {
          code: 'REQUEST.INVALID',
          message: 'Invalid request query',
          details: [expect.objectContaining({ path: 'cursor' })],
        },
      });
    }
    const twice = await call(ada, 'GET', `/conversations?cursor=${encoded(`1|${randomUUID()}`)}&cursor=x`);
    expect(twice.status).toBe(400);
    // Well formed, but nothing is that old: an empty last page.
    const past = await call(ada, 'GET', `/conversations?cursor=${encoded(`-9999999999999999|${randomUUID()}`)}`);
    expect(past.body).toEqual({ conversations: [], nextCursor: null });
  });
});

describe('members', () => {
  it('current members by user id, a page at a time, with their count in the details', async () => {
    const [ada, leaver, ...rest] = await Promise.all([
      user('ada'),
      user('leaver'),
      ...range(4).map((i) => user(`member${i}`)),
    ]);
    const group = await call(ada, 'POST', '/conversations/groups', {
      name: 'five',
      memberIds: [leaver.userId, ...rest.map((u) => u.userId)],
    });
    const id = group.body.conversationId;
    const left = await call(leaver, 'POST', `/conversations/${id}/leave`);
    const after = `after=${left.body.checkpoint}`;

    const details = await call<{ memberCount: number; members?: unknown }>(ada, 'GET', `/conversations/${id}?${after}`);
    expect(details.body.memberCount).toBe(5);
    expect(details.body.members).toBeUndefined();

    const pages = await everyPage<{ userId: string; role: string }>(
      app,
      rest[0]!,
      `/conversations/${id}/members?limit=2&${after}`,
      'members',
    );
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    // Who left is not listed.
    expect(pages.flat()).toEqual(
      [{ userId: ada.userId, role: 'owner' }, ...rest.map((u) => ({ userId: u.userId, role: 'member' }))].sort((a, b) =>
        a.userId.localeCompare(b.userId),
      ),
    );
    expect((await call(ada, 'GET', `/conversations/${id}/members?limit=101`)).status).toBe(400);
  });
});

describe('receipts', () => {
  it('members see who received and read how far, a page at a time; nobody else', async () => {
    const [ada, bob, cy, eve] = await Promise.all([user('ada'), user('bob'), user('cy'), user('eve')]);
    const group = await call(ada, 'POST', '/conversations/groups', {
      name: 'receipts',
      memberIds: [bob.userId, cy.userId],
    });
    const id = group.body.conversationId;
    const m1 = await send(ada, id, 'one');
    await send(ada, id, 'two');
    await call(bob, 'POST', `/conversations/${id}/delivered`, { upToSeq: m1.body.seq + 1 });
    const read = await call(bob, 'POST', `/conversations/${id}/read`, { upToSeq: m1.body.seq });

    type Page = { receipts: { userId: string; readSeq: number; deliveredSeq: number }[]; nextCursor: string | null };
    const all = await call<Page>(cy, 'GET', `/conversations/${id}/receipts?after=${read.body.checkpoint}`);
    expect(all.status).toBe(200);
    const byUser = new Map(all.body.receipts.map((r) => [r.userId, r]));
    expect(byUser.get(bob.userId)).toEqual({ userId: bob.userId, readSeq: m1.body.seq, deliveredSeq: m1.body.seq + 1 });
    // Sending reads what came before it; nobody delivered anything for ada.
    expect(byUser.get(ada.userId)).toMatchObject({ readSeq: m1.body.seq + 1, deliveredSeq: -1 });
    expect(byUser.get(cy.userId)).toMatchObject({ readSeq: 0 });
    expect(all.body.nextCursor).toBeNull();

    // Pages of one, by user id, each member once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: Page } = await call<Page>(
        ada,
        'GET',
        `/conversations/${id}/receipts?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.receipts.map((r) => r.userId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([ada.userId, bob.userId, cy.userId].sort());

    expect((await call(eve, 'GET', `/conversations/${id}/receipts`)).status).toBe(404);
    expect((await call(ada, 'GET', `/conversations/${id}/receipts?limit=101`)).status).toBe(400);
    expect((await call(ada, 'GET', `/conversations/${id}/receipts?cursor=nope`)).status).toBe(400);
  });
});
