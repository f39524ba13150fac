/**
 * Blocks reveal nothing and let nothing through (docs/adr/007-blocks-reveal-nothing.md): a
 * blocked user's writes into the direct conversation, its start and contact requests are
 * answered exactly as anyone's, and the one who blocked sees nothing of them — no message,
 * edit or reaction, no pushed frame, no count or preview moving. Also: commands on one
 * stream in parallel all succeed (each retries the race it lost), and concurrent refreshes
 * with one refresh token get the same new pair.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { range, uniqueId } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caller, signUp, testApp, type TestUser } from './test-app.js';
import { hangUp, listen, openSocket, type TestSocket } from './test-socket.js';

let app: NestFastifyApplication;
let address: string;
beforeAll(async () => {
  app = await testApp();
  address = await listen(app);
});
afterAll(async () => {
  await app.close();
});

const call = (...args: Parameters<ReturnType<typeof caller>>) => caller(app)(...args);

/** What a client can tell of an answer: its status and, for each field, its type. */
const shape = (answer: { status: number; body: Record<string, unknown> }) => ({
  status: answer.status,
  fields: Object.fromEntries(Object.entries(answer.body).map(([k, v]) => [k, v === null ? 'null' : typeof v])),
});

/** The frames of the events a socket was pushed. */
const pushed = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'event');

describe('a blocked user in a direct conversation', () => {
  /**
   * Every write a member can make in a DM, by `writer` to `reader`: answers, in order. The
   * reader sent `theirs` and the writer `mine` before.
   */
  async function everyWrite(writer: TestUser, reader: TestUser, dm: string, theirs: string, mine: string) {
    const url = `/conversations/${dm}/messages`;
    return [
      await call(writer, 'PATCH', `${url}/${mine}`, {
        text: 'now naming you',
        mentions: { userIds: [reader.userId], all: false },
      }),
      await call(writer, 'PUT', `${url}/${theirs}/reactions/👍`),
      await call(writer, 'POST', url, {
        clientMessageId: randomUUID(),
        text: 'a reply naming you',
        replyToMessageId: theirs,
        mentions: { userIds: [reader.userId], all: false },
      }),
      await call(writer, 'POST', url, { clientMessageId: randomUUID(), text: 'plain' }),
      await call(writer, 'DELETE', `${url}/${mine}`),
      await call(writer, 'POST', `/conversations/direct`, { userId: reader.userId }),
    ];
  }

  /** A DM where each wrote one message; answers its id and the two message ids. */
  async function chat(a: TestUser, b: TestUser) {
    const dm = (await call(b, 'POST', '/conversations/direct', { userId: a.userId })).body.conversationId as string;
    const say = async (who: TestUser, text: string) =>
      (await call(who, 'POST', `/conversations/${dm}/messages`, { clientMessageId: randomUUID(), text })).body
        .messageId as string;
    return { dm, fromA: await say(a, 'hi'), fromB: await say(b, 'hello') };
  }

  it('edits (a mention added), reacts, replies, sends, deletes: answered as anyone, nothing reaches the one who blocked', async () => {
    const [ada, bob, cy, dan] = (await Promise.all(['ada', 'bob', 'cy', 'dan'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
      TestUser,
    ];
    const blockedChat = await chat(ada, bob);
    const control = await chat(cy, dan);

    const socket = await openSocket(address, ada.token);
    const block = await call(ada, 'PUT', `/blocks/${bob.userId}`);
    const inboxOf = async (who: TestUser, after: string) =>
      (await call(who, 'GET', `/conversations?after=${encodeURIComponent(after)}`)).body.conversations;
    const messagesOf = async (who: TestUser, dm: string, after: string) =>
      (await call(who, 'GET', `/conversations/${dm}/messages?after=${encodeURIComponent(after)}`)).body.messages;
    const inboxBefore = await inboxOf(ada, block.body.checkpoint as string);
    const messagesBefore = await messagesOf(ada, blockedChat.dm, block.body.checkpoint as string);
    socket.send({ type: 'sync', conversations: { [blockedChat.dm]: 2 } });
    await expect.poll(() => socket.frames.some((f) => f.type === 'synced')).toBe(true);

    const blocked = await everyWrite(bob, ada, blockedChat.dm, blockedChat.fromA, blockedChat.fromB);
    const unblocked = await everyWrite(dan, cy, control.dm, control.fromA, control.fromB);
    // Status and fields, one by one, as an unblocked user's: the block is not revealed.
    expect(blocked.map(shape)).toEqual(unblocked.map(shape));
    expect(blocked.map((a) => a.status)).toEqual([200, 200, 201, 201, 200, 201]);
    // Their seqs are the conversation's last (2): never one a later event takes, so a client
    // that syncs from an answered seq misses nothing.
    expect(blocked.map((a) => a.body.seq)).toEqual([2, 2, 2, 2, 2, 2]);
    // The inbox of the one who blocked: the same row, counts, preview, activity.
    const lastBlocked = blocked
      .flatMap((a) => (typeof a.body.checkpoint === 'string' ? [a.body.checkpoint] : []))
      .sort()
      .at(-1)!;
    const inboxAfter = await call(ada, 'GET', `/conversations?after=${encodeURIComponent(lastBlocked)}`);
    expect(inboxAfter.body, lastBlocked).toEqual({ conversations: inboxBefore, nextCursor: null });

    // The one who blocked: their next message is the next seq, the first frame pushed
    // since syncing, and their timeline, counts and preview did not move.
    const after = await call(ada, 'POST', `/conversations/${blockedChat.dm}/messages`, {
      clientMessageId: randomUUID(),
      text: 'still here',
    });
    expect(after.body.seq).toBe(3);
    await expect.poll(() => pushed(socket).length).toBe(1);
    expect(pushed(socket)[0]).toMatchObject({ seq: 3, event: { type: 'MessageSent', data: { senderId: ada.userId } } });
    const checkpoint = after.body.checkpoint as string;
    const messagesAfter = (await messagesOf(ada, blockedChat.dm, checkpoint)) as { seq: number }[];
    expect(messagesAfter.filter((m) => m.seq !== 3)).toEqual(messagesBefore);
    // The blocked user's client, syncing from the last seq it was answered, gets her message.
    const bobs = await openSocket(address, bob.token);
    bobs.send({
      type: 'sync',
      conversations: { [blockedChat.dm]: Math.max(...blocked.map((a) => a.body.seq as number)) },
    });
    await expect.poll(() => pushed(bobs).map((f) => f.seq)).toEqual([3]);
    // Nor do the blocked user's read markers reach her.
    await call(bob, 'POST', `/conversations/${blockedChat.dm}/read`, { upToSeq: 3 });
    const bobRead = await call(bob, 'POST', `/conversations/${blockedChat.dm}/delivered`, { upToSeq: 3 });
    const receipts = await call(
      ada,
      'GET',
      `/conversations/${blockedChat.dm}/receipts?after=${encodeURIComponent(bobRead.body.checkpoint as string)}`,
    );
    expect(receipts.body.receipts).toContainEqual({ userId: bob.userId, readSeq: -1, deliveredSeq: -1 });
    await Promise.all([hangUp(socket), hangUp(bobs)]);
  });

  it('a retried send of a blocked user is answered the same message id, as a written one is, and it looks as random', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const { dm } = await chat(ada, bob);
    await call(ada, 'PUT', `/blocks/${bob.userId}`);
    const send = () => call(bob, 'POST', `/conversations/${dm}/messages`, { clientMessageId: 'again', text: 'hi?' });
    const [first, retry] = [await send(), await send()];
    expect(retry.body.messageId).toBe(first.body.messageId);
    expect(first.status).toBe(201);
    // Shaped as a written send's random id (version 4, RFC 4122 variant): a derived
    // version-8 id, as direct conversations have, would tell the block.
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(first.body.messageId).toMatch(v4);
    const written = await call(ada, 'POST', `/conversations/${dm}/messages`, { clientMessageId: 'w', text: 'hi' });
    expect(written.body.messageId).toMatch(v4);
  });

  it("a blocked user's sends take about as long as anyone's (medians within 3× of each other)", async () => {
    const [ada, bob, cy, dan] = (await Promise.all(['ada', 'bob', 'cy', 'dan'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
      TestUser,
    ];
    const [blockedChat, control] = [await chat(ada, bob), await chat(cy, dan)];
    await call(ada, 'PUT', `/blocks/${bob.userId}`);
    const timed = async (who: TestUser, dm: string): Promise<number> => {
      const began = performance.now();
      await call(who, 'POST', `/conversations/${dm}/messages`, { clientMessageId: randomUUID(), text: 'x' });
      return performance.now() - began;
    };
    const blocked: number[] = [];
    const unblocked: number[] = [];
    // Interleaved, so both see the same load.
    for (const _ of range(40)) {
      blocked.push(await timed(bob, blockedChat.dm));
      unblocked.push(await timed(dan, control.dm));
    }
    const median = (times: number[]) => times.sort((a, b) => a - b)[times.length >> 1]!;
    const ratio = median(blocked) / median(unblocked);
    expect(ratio, `blocked ${median(blocked)} ms, unblocked ${median(unblocked)} ms`).toBeGreaterThan(1 / 3);
    expect(ratio, `blocked ${median(blocked)} ms, unblocked ${median(unblocked)} ms`).toBeLessThan(3);
  });

  it('starting a direct conversation with the one who blocked you is answered as any start, and starts nothing', async () => {
    const [ada, bob, cy] = (await Promise.all(['ada', 'bob', 'cy'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
    ];
    const block = await call(ada, 'PUT', `/blocks/${bob.userId}`);
    const blocked = await call(bob, 'POST', '/conversations/direct', { userId: ada.userId });
    const unblocked = await call(cy, 'POST', '/conversations/direct', { userId: ada.userId });
    expect(shape(blocked)).toEqual(shape(unblocked));
    expect(blocked.body).toMatchObject({ seq: 0, checkpoint: expect.any(String) as unknown });
    // Unlike an id that is nobody's.
    expect((await call(bob, 'POST', '/conversations/direct', { userId: randomUUID() })).body).toMatchObject({
      error: { code: 'USER.NOT_FOUND' },
    });
    const inbox = await call(
      ada,
      'GET',
      `/conversations?after=${encodeURIComponent(unblocked.body.checkpoint as string)}`,
    );
    expect((inbox.body.conversations as { conversationId: string }[]).map((c) => c.conversationId)).toEqual([
      unblocked.body.conversationId,
    ]);
    expect(block.status).toBe(200);
  });

  it('a contact request or acceptance to the one who blocked you is answered as done, and they see nothing', async () => {
    const [ada, bob, cy] = (await Promise.all(['ada', 'bob', 'cy'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
    ];
    // Ada asked Bob before blocking him: his acceptance is withheld too.
    await call(ada, 'POST', `/contacts/${bob.userId}`);
    await call(ada, 'PUT', `/blocks/${bob.userId}`);
    const accepted = await call(bob, 'POST', `/contacts/${ada.userId}/accept`);
    expect(accepted).toMatchObject({ status: 200, body: { status: 'contacts' } });
    await call(cy, 'PUT', `/blocks/${bob.userId}`);
    const blocked = await call(bob, 'POST', `/contacts/${cy.userId}`);
    const unblocked = await call(ada, 'POST', `/contacts/${cy.userId}`);
    expect(shape(blocked)).toEqual(shape(unblocked));
    expect(blocked.body.status).toBe('requested');
    const contacts = await call(
      cy,
      'GET',
      `/contacts?after=${encodeURIComponent(unblocked.body.checkpoint as string)}`,
    );
    expect(contacts.body.contacts).toEqual([{ userId: ada.userId, status: 'request_received' }]);
    const adas = await call(ada, 'GET', `/contacts?after=${encodeURIComponent(unblocked.body.checkpoint as string)}`);
    expect(adas.body.contacts).toContainEqual({ userId: bob.userId, status: 'request_sent' });
    // The one who blocked unblocks before asking.
    expect((await call(cy, 'POST', `/contacts/${bob.userId}`)).body).toMatchObject({
      error: { code: 'USER.INVALID' },
    });
  });
});

describe('commands on one stream at once', () => {
  it('parallel blocks all succeed, and all of them hold', async () => {
    const [ada, ...others] = (await Promise.all(
      ['ada', ...range(5).map((i) => `o${i}`)].map((n) => signUp(app, n)),
    )) as [TestUser, ...TestUser[]];
    const answers = await Promise.all(others.map((o) => call(ada, 'PUT', `/blocks/${o.userId}`)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const last = answers
      .map((a) => a.body.checkpoint as string)
      .sort()
      .at(-1)!;
    const blocks = await call(ada, 'GET', `/blocks?after=${encodeURIComponent(last)}`);
    expect(blocks.body.blocks).toEqual(
      others.map((o) => ({ userId: o.userId })).sort((a, b) => (a.userId < b.userId ? -1 : 1)),
    );
  });

  it('parallel profile changes all succeed, and one of them is the profile', async () => {
    const ada = await signUp(app, 'ada');
    const names = range(4).map((i) => `Ada ${i}`);
    const answers = await Promise.all(names.map((displayName) => call(ada, 'PATCH', '/me', { displayName })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(names).toContain((await call(ada, 'GET', '/me')).body.displayName);
  });
});

describe('refreshing', () => {
  it('two refreshes at once with one token both get the same new pair; the session lives on', async () => {
    const registered = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: { username: uniqueId('ref').toLowerCase(), password: 'password-1', displayName: 'R' },
    });
    const { refreshToken } = registered.json<{ refreshToken: string }>();
    const refresh = (token: string) =>
      app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken: token } });
    const [one, two] = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect([one.statusCode, two.statusCode]).toEqual([200, 200]);
    const next = one.json<{ refreshToken: string; accessToken: string }>();
    expect(two.json<{ refreshToken: string }>().refreshToken).toBe(next.refreshToken);
    expect((await call({ userId: '', token: next.accessToken }, 'GET', '/me')).status).toBe(200);
    // The new token rotates on; the old one after that is a replay and ends the session.
    const third = await refresh(next.refreshToken);
    expect(third.statusCode).toBe(200);
    const replay = await refresh(refreshToken);
    expect(replay.json()).toMatchObject({ error: { code: 'AUTH.REFRESH_TOKEN_REUSED' } });
    expect((await refresh(third.json<{ refreshToken: string }>().refreshToken)).statusCode).toBe(401);
  });
});
