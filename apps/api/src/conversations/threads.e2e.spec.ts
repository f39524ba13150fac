/**
 * Threads (issue 18, item 3): the replies to a message, paged by seq as the timeline is,
 * with the same visibility (members; a departed member as of their leaving; a blocked
 * user's withheld replies nowhere), the thread's participants, and a per-thread unread
 * count for a member in the thread.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, checkpointOf, dataOf } from '../test-client.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

const user = (name: string): Promise<TestUser> => signUp(app, name);

async function say(who: TestUser, id: string, text: string, extra: { replyTo?: string; mention?: string[] } = {}) {
  return dataOf(
    await apiOf(app, who).POST('/conversations/{id}/messages', {
      params: { path: { id } },
      body: {
        clientMessageId: randomUUID(),
        text,
        ...(extra.replyTo ? { replyToMessageId: extra.replyTo } : {}),
        ...(extra.mention ? { mentions: { userIds: extra.mention, all: false } } : {}),
      },
    }),
  );
}

function thread(who: TestUser, id: string, messageId: string, query: Record<string, string | number> = {}) {
  return apiOf(app, who).GET('/conversations/{id}/messages/{messageId}/replies', {
    params: { path: { id, messageId }, query },
  });
}

describe('threads', () => {
  it('lists the replies a page at a time by seq, with the root, its participants, and each member’s unread count in it', async () => {
    const [ada, bob, carol, dave, erin] = await Promise.all([
      user('ada'),
      user('bob'),
      user('carol'),
      user('dave'),
      user('erin'),
    ]);
    const id = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', {
        body: { name: 'threads', memberIds: [bob, carol, dave, erin].map((u) => u.userId) },
      }),
    ).conversationId;
    const root = await say(ada, id, 'the root');
    await say(erin, id, 'not in the thread');
    const r1 = await say(bob, id, 'first reply', { replyTo: root.messageId });
    const r2 = await say(carol, id, 'dave, look', { replyTo: root.messageId, mention: [dave.userId] });
    const r3 = await say(ada, id, 'third reply', { replyTo: root.messageId });
    const after = r3.checkpoint!;

    // Newest first, a page at a time, as GET .../messages pages.
    const first = dataOf(await thread(bob, id, root.messageId, { after, limit: 2 }));
    expect(first.root).toMatchObject({ messageId: root.messageId, text: 'the root', replyCount: 3 });
    expect(first.messages.map((m) => m.messageId)).toEqual([r3.messageId, r2.messageId]);
    expect(first.nextCursor).toBe(r2.seq);
    const second = dataOf(await thread(bob, id, root.messageId, { before: first.nextCursor!, limit: 2 }));
    expect(second.messages.map((m) => m.messageId)).toEqual([r1.messageId]);
    expect(second.nextCursor).toBeNull();
    const forward = dataOf(await thread(bob, id, root.messageId, { since: -1 }));
    expect(forward.messages.map((m) => m.text)).toEqual(['first reply', 'dave, look', 'third reply']);
    expect(forward.participants).toEqual([ada, bob, carol].map((u) => u.userId).sort());
    expect(forward.participantCount).toBe(3);

    // Unread in the thread: for those who wrote in it or are named in it; the replies of others after their marker.
    const unread = async (who: TestUser) => dataOf(await thread(who, id, root.messageId)).unreadCount;
    expect(await unread(bob)).toBe(2); // carol's and ada's replies
    // ada wrote the root and the last reply: sending moves the sender's read marker, nothing is unread.
    expect(await unread(ada)).toBe(0);
    expect(await unread(dave)).toBe(3); // named by carol: every reply
    expect(await unread(erin)).toBeNull(); // a member, not in the thread
    const read = checkpointOf(
      await apiOf(app, bob).POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq: r2.seq } }),
    );
    expect(dataOf(await thread(bob, id, root.messageId, { after: read })).unreadCount).toBe(1);
    // A reply deleted no longer counts, nor makes its author a participant.
    const deleted = checkpointOf(
      await apiOf(app, ada).DELETE('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: r3.messageId } },
      }),
    );
    const now = dataOf(await thread(bob, id, root.messageId, { after: deleted }));
    expect(now.unreadCount).toBe(0);
    expect(now.messages.find((m) => m.messageId === r3.messageId)).toMatchObject({ deleted: true });
    expect(now.participants).toEqual([ada, bob, carol].map((u) => u.userId).sort()); // ada wrote the root
  });

  it('a departed member reads the thread as of their leaving; outsiders and unknown messages get 404', async () => {
    const [ada, bob, carol, outsider] = await Promise.all([user('ada'), user('bob'), user('carol'), user('outsider')]);
    const id = dataOf(
      await apiOf(app, ada).POST('/conversations/groups', {
        body: { name: 't', memberIds: [bob.userId, carol.userId] },
      }),
    ).conversationId;
    const root = await say(ada, id, 'root');
    const before = await say(bob, id, 'before carol left', { replyTo: root.messageId });
    await apiOf(app, carol).POST('/conversations/{id}/leave', { params: { path: { id } } });
    await apiOf(app, bob).PATCH('/conversations/{id}/messages/{messageId}', {
      params: { path: { id, messageId: before.messageId } },
      body: { text: 'edited after' },
    });
    const later = await say(ada, id, 'after carol left', { replyTo: root.messageId });
    const laterRoot = await say(ada, id, 'a later root');
    const after = laterRoot.checkpoint!;

    const seen = dataOf(await thread(carol, id, root.messageId, { after }));
    expect(seen.messages.map((m) => m.text)).toEqual(['before carol left']);
    expect(seen.root.replyCount).toBe(1);
    expect(seen.participants).toEqual([ada, bob].map((u) => u.userId).sort());
    expect(seen.unreadCount).toBeNull();
    expect(dataOf(await thread(bob, id, root.messageId, { after })).messages.map((m) => m.messageId)).toEqual([
      later.messageId,
      before.messageId,
    ]);
    // A root written after carol left is none of hers; nor is anything of anyone else's.
    const problems: string[] = [];
    for (const [who, messageId] of [
      [carol, laterRoot.messageId],
      [outsider, root.messageId],
      [ada, randomUUID()],
    ] as const) {
      const { response, error } = await thread(who, id, messageId, { after });
      if (response.status !== 404) problems.push(`${messageId}: ${response.status}`);
      expect(error).toBeDefined();
    }
    const missing = await thread(outsider, randomUUID(), root.messageId);
    const real = await thread(outsider, id, root.messageId);
    expect(missing.error).toEqual(real.error);
    expect(problems).toEqual([]);
  });

  it('in a direct conversation, a blocked user’s reply is withheld: the one who blocked never sees it in the thread', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const id = dataOf(
      await apiOf(app, ada).POST('/conversations/direct', { body: { userId: bob.userId } }),
    ).conversationId;
    const root = await say(ada, id, 'a question');
    await apiOf(app, ada).PUT('/blocks/{userId}', { params: { path: { userId: bob.userId } } });
    const withheld = await say(bob, id, 'an answer', { replyTo: root.messageId });
    const marker = await say(ada, id, 'still here', { replyTo: root.messageId });
    const seen = dataOf(await thread(ada, id, root.messageId, { after: marker.checkpoint! }));
    expect(seen.messages.map((m) => m.messageId)).toEqual([marker.messageId]);
    expect(seen.messages.map((m) => m.messageId)).not.toContain(withheld.messageId);
    expect(seen.participants).toEqual([ada.userId]);
    expect(seen.unreadCount).toBe(0);
  });
});
