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
import { signUp, testApp, type TestUser } from './test-app.js';
import { apiOf, checkpointOf, dataOf, type Answered } from './test-client.js';
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

/** The body of an answer: its data, or its error body (an answer without one throws). */
function bodyOf<D extends object, E extends object>({ data, error, response }: Answered<D, E>): D | E {
  const body = data ?? error;
  if (body === undefined) throw new Error(`${response.status} without a body`);
  return body;
}

/** What a client can tell of an answer: its status and, for each field, its type. */
const shape = (answer: Answered<object, object>) => ({
  status: answer.response.status,
  fields: Object.fromEntries(Object.entries(bodyOf(answer)).map(([k, v]) => [k, v === null ? 'null' : typeof v])),
});

/** The frames of the events a socket was pushed. */
const pushed = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'event');

describe('a blocked user in a direct conversation', () => {
  /**
   * Every write a member can make in a DM, by `writer` to `reader`: answers, in order. The
   * reader sent `theirs` and the writer `mine` before.
   */
  async function everyWrite(writer: TestUser, reader: TestUser, dm: string, theirs: string, mine: string) {
    const api = apiOf(app, writer);
    return [
      await api.PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id: dm, messageId: mine } },
        body: { text: 'now naming you', mentions: { userIds: [reader.userId], all: false } },
      }),
      await api.PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id: dm, messageId: theirs, emoji: '👍' } },
      }),
      await api.POST('/conversations/{id}/messages', {
        params: { path: { id: dm } },
        body: {
          clientMessageId: randomUUID(),
          text: 'a reply naming you',
          replyToMessageId: theirs,
          mentions: { userIds: [reader.userId], all: false },
        },
      }),
      await api.POST('/conversations/{id}/messages', {
        params: { path: { id: dm } },
        body: { clientMessageId: randomUUID(), text: 'plain' },
      }),
      await api.DELETE('/conversations/{id}/messages/{messageId}', { params: { path: { id: dm, messageId: mine } } }),
      await api.POST('/conversations/direct', { body: { userId: reader.userId } }),
    ];
  }

  /** `who` sends `text` into `dm`. */
  const send = (who: TestUser, dm: string, text: string, clientMessageId: string = randomUUID()) =>
    apiOf(app, who).POST('/conversations/{id}/messages', {
      params: { path: { id: dm } },
      body: { clientMessageId, text },
    });

  /** `who` blocks `whom`. */
  const blockOf = (who: TestUser, whom: TestUser) =>
    apiOf(app, who).PUT('/blocks/{userId}', { params: { path: { userId: whom.userId } } });

  /** A DM where each wrote one message; answers its id and the two message ids. */
  async function chat(a: TestUser, b: TestUser) {
    const dm = dataOf(await apiOf(app, b).POST('/conversations/direct', { body: { userId: a.userId } })).conversationId;
    const say = async (who: TestUser, text: string) => dataOf(await send(who, dm, text)).messageId;
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
    const block = await blockOf(ada, bob);
    const inboxOf = async (who: TestUser, after: string) =>
      (await apiOf(app, who).GET('/conversations', { params: { query: { after } } })).data?.conversations;
    const messagesOf = async (who: TestUser, dm: string, after: string) =>
      dataOf(
        await apiOf(app, who).GET('/conversations/{id}/messages', { params: { path: { id: dm }, query: { after } } }),
      ).messages;
    const inboxBefore = await inboxOf(ada, checkpointOf(block));
    const messagesBefore = await messagesOf(ada, blockedChat.dm, checkpointOf(block));
    socket.send({ type: 'sync', conversations: { [blockedChat.dm]: 2 } });
    await expect.poll(() => socket.frames.some((f) => f.type === 'synced')).toBe(true);

    const blocked = await everyWrite(bob, ada, blockedChat.dm, blockedChat.fromA, blockedChat.fromB);
    const unblocked = await everyWrite(dan, cy, control.dm, control.fromA, control.fromB);
    // Status and fields, one by one, as an unblocked user's: the block is not revealed.
    expect(blocked.map(shape)).toEqual(unblocked.map(shape));
    expect(blocked.map((a) => a.response.status)).toEqual([200, 200, 201, 201, 200, 201]);
    // Their seqs are the conversation's last (2): never one a later event takes, so a client
    // that syncs from an answered seq misses nothing.
    expect(blocked.map((a) => a.data?.seq)).toEqual([2, 2, 2, 2, 2, 2]);
    // The inbox of the one who blocked: the same row, counts, preview, activity.
    const lastBlocked = blocked
      .flatMap((a) => {
        const checkpoint = a.data?.checkpoint;
        return typeof checkpoint === 'string' ? [checkpoint] : [];
      })
      .sort()
      .at(-1)!;
    const inboxAfter = await apiOf(app, ada).GET('/conversations', { params: { query: { after: lastBlocked } } });
    expect(inboxAfter.data, lastBlocked).toEqual({ conversations: inboxBefore, nextCursor: null });

    // The one who blocked: their next message is the next seq, the first frame pushed
    // since syncing, and their timeline, counts and preview did not move.
    const after = await send(ada, blockedChat.dm, 'still here');
    expect(after.data?.seq).toBe(3);
    await expect.poll(() => pushed(socket).length).toBe(1);
    expect(pushed(socket)[0]).toMatchObject({ seq: 3, event: { type: 'MessageSent', data: { senderId: ada.userId } } });
    const checkpoint = checkpointOf(after);
    const messagesAfter = await messagesOf(ada, blockedChat.dm, checkpoint);
    expect(messagesAfter.filter((m) => m.seq !== 3)).toEqual(messagesBefore);
    // The blocked user's client, syncing from the last seq it was answered, gets her message.
    const bobs = await openSocket(address, bob.token);
    bobs.send({
      type: 'sync',
      conversations: { [blockedChat.dm]: Math.max(...blocked.map((a) => a.data!.seq)) },
    });
    await expect.poll(() => pushed(bobs).map((f) => f.seq)).toEqual([3]);
    // Nor do the blocked user's read markers reach her.
    await apiOf(app, bob).POST('/conversations/{id}/read', {
      params: { path: { id: blockedChat.dm } },
      body: { upToSeq: 3 },
    });
    const bobRead = await apiOf(app, bob).POST('/conversations/{id}/delivered', {
      params: { path: { id: blockedChat.dm } },
      body: { upToSeq: 3 },
    });
    const receipts = await apiOf(app, ada).GET('/conversations/{id}/receipts', {
      params: { path: { id: blockedChat.dm }, query: { after: checkpointOf(bobRead) } },
    });
    expect(receipts.data?.receipts).toContainEqual({ userId: bob.userId, readSeq: -1, deliveredSeq: -1 });
    await Promise.all([hangUp(socket), hangUp(bobs)]);
  });

  it('a retried send of a blocked user is answered the same message id, as a written one is, and it looks as random', async () => {
    const [ada, bob] = (await Promise.all(['ada', 'bob'].map((n) => signUp(app, n)))) as [TestUser, TestUser];
    const { dm } = await chat(ada, bob);
    await blockOf(ada, bob);
    const again = () => send(bob, dm, 'hi?', 'again');
    const [first, retry] = [await again(), await again()];
    expect(retry.data?.messageId).toBe(first.data?.messageId);
    expect(first.response.status).toBe(201);
    // Shaped as a written send's random id (version 4, RFC 4122 variant): a derived
    // version-8 id, as direct conversations have, would tell the block.
    const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(first.data?.messageId).toMatch(v4);
    const written = await send(ada, dm, 'hi', 'w');
    expect(written.data?.messageId).toMatch(v4);
  });

  it("a blocked user's sends take about as long as anyone's (medians within 3× of each other)", async () => {
    const [ada, bob, cy, dan] = (await Promise.all(['ada', 'bob', 'cy', 'dan'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
      TestUser,
    ];
    const [blockedChat, control] = [await chat(ada, bob), await chat(cy, dan)];
    await blockOf(ada, bob);
    const timed = async (who: TestUser, dm: string): Promise<number> => {
      const began = performance.now();
      await send(who, dm, 'x');
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
    const start = (who: TestUser, userId: string) =>
      apiOf(app, who).POST('/conversations/direct', { body: { userId } });
    const block = await blockOf(ada, bob);
    const blocked = await start(bob, ada.userId);
    const unblocked = await start(cy, ada.userId);
    expect(shape(blocked)).toEqual(shape(unblocked));
    expect(blocked.data).toMatchObject({ seq: 0, checkpoint: expect.any(String) as unknown });
    // Unlike an id that is nobody's.
    expect((await start(bob, randomUUID())).error).toMatchObject({
      error: { code: 'USER.NOT_FOUND' },
    });
    const inbox = await apiOf(app, ada).GET('/conversations', {
      params: { query: { after: checkpointOf(unblocked) } },
    });
    expect(inbox.data?.conversations.map((c) => c.conversationId)).toEqual([unblocked.data?.conversationId]);
    expect(block.response.status).toBe(200);
  });

  it('a contact request or acceptance to the one who blocked you is answered as done, and they see nothing', async () => {
    const [ada, bob, cy] = (await Promise.all(['ada', 'bob', 'cy'].map((n) => signUp(app, n)))) as [
      TestUser,
      TestUser,
      TestUser,
    ];
    const ask = (who: TestUser, whom: TestUser) =>
      apiOf(app, who).POST('/contacts/{userId}', { params: { path: { userId: whom.userId } } });
    const contactsOf = (who: TestUser, after: string) =>
      apiOf(app, who).GET('/contacts', { params: { query: { after } } });
    // Ada asked Bob before blocking him: his acceptance is withheld too.
    await ask(ada, bob);
    await blockOf(ada, bob);
    const accepted = await apiOf(app, bob).POST('/contacts/{userId}/accept', {
      params: { path: { userId: ada.userId } },
    });
    expect({ status: accepted.response.status, body: bodyOf(accepted) }).toMatchObject({
      status: 200,
      body: { status: 'contacts' },
    });
    await blockOf(cy, bob);
    const blocked = await ask(bob, cy);
    const unblocked = await ask(ada, cy);
    expect(shape(blocked)).toEqual(shape(unblocked));
    expect(blocked.data?.status).toBe('requested');
    const contacts = await contactsOf(cy, checkpointOf(unblocked));
    expect(contacts.data?.contacts).toEqual([{ userId: ada.userId, status: 'request_received' }]);
    const adas = await contactsOf(ada, checkpointOf(unblocked));
    expect(adas.data?.contacts).toContainEqual({ userId: bob.userId, status: 'request_sent' });
    // The one who blocked unblocks before asking.
    expect((await ask(cy, bob)).error).toMatchObject({
      error: { code: 'USER.INVALID' },
    });
  });
});

describe('commands on one stream at once', () => {
  it('parallel blocks all succeed, and all of them hold', async () => {
    const [ada, ...others] = (await Promise.all(
      ['ada', ...range(5).map((i) => `o${i}`)].map((n) => signUp(app, n)),
    )) as [TestUser, ...TestUser[]];
    const answers = await Promise.all(
      others.map((o) => apiOf(app, ada).PUT('/blocks/{userId}', { params: { path: { userId: o.userId } } })),
    );
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200, 200, 200]);
    const last = answers.map(checkpointOf).sort().at(-1)!;
    const blocks = await apiOf(app, ada).GET('/blocks', { params: { query: { after: last } } });
    expect(blocks.data?.blocks).toEqual(
      others.map((o) => ({ userId: o.userId })).sort((a, b) => (a.userId < b.userId ? -1 : 1)),
    );
  });

  it('parallel profile changes all succeed, and one of them is the profile', async () => {
    const ada = await signUp(app, 'ada');
    const names = range(4).map((i) => `Ada ${i}`);
    const answers = await Promise.all(
      names.map((displayName) => apiOf(app, ada).PATCH('/me', { body: { displayName } })),
    );
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200, 200]);
    expect(names).toContain((await apiOf(app, ada).GET('/me')).data?.displayName);
  });
});

describe('refreshing', () => {
  it('two refreshes at once with one token both get the same new pair; the session lives on', async () => {
    const registered = await apiOf(app).POST('/auth/register', {
      body: { username: uniqueId('ref').toLowerCase(), password: 'password-1', displayName: 'R' },
    });
    const { refreshToken } = dataOf(registered);
    const refresh = (token: string) => apiOf(app).POST('/auth/refresh', { body: { refreshToken: token } });
    const [one, two] = await Promise.all([refresh(refreshToken), refresh(refreshToken)]);
    expect([one.response.status, two.response.status]).toEqual([200, 200]);
    const next = one.data!;
    expect(two.data!.refreshToken).toBe(next.refreshToken);
    expect((await apiOf(app, { token: next.accessToken }).GET('/me')).response.status).toBe(200);
    // The new token rotates on; the old one after that is a replay and ends the session.
    const third = await refresh(next.refreshToken);
    expect(third.response.status).toBe(200);
    const replay = await refresh(refreshToken);
    expect(replay.error).toMatchObject({ error: { code: 'AUTH.REFRESH_TOKEN_REUSED' } });
    expect((await refresh(third.data!.refreshToken)).response.status).toBe(401);
  });
});
