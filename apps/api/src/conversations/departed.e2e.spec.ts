/**
 * A member who left, or was kicked, reads the conversation as it was at their leaving and
 * nothing after (ADR 008): not the edits, deletions and reactions made later (also by
 * members who joined later), not a rename. Back in it, they read it as every member does.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components, operations } from '../client/schema.js';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';

let app: NestFastifyApplication;

beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type Message = components['schemas']['Message'];
type SendBody = operations['ConversationsController_send']['requestBody']['content']['application/json'];

const api = (who: TestUser) => apiOf(app, who);

/** A command that must succeed; its answer. */
async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  expect(response.status, `${response.status}: ${JSON.stringify(data ?? error)}`).toBeLessThan(300);
  return data!;
}

const file = { url: 'https://files.example/a.png', name: 'a.png', mimeType: 'image/png', sizeBytes: 10 };

/** Every message, read both ways a page at a time: newest first with before=, then oldest first with since=. */
async function bothWays(
  who: TestUser,
  id: string,
  after: string | null,
): Promise<{ back: Message[]; forth: Message[] }> {
  type From = { before?: string; since?: string };
  const read = async (first: From, next: (cursor: number) => From) => {
    const out: Message[] = [];
    let from: From | null = first;
    while (from !== null) {
      const page: { data?: components['schemas']['Messages']; response: Response } = await api(who).GET(
        '/conversations/{id}/messages',
        { params: { path: { id }, query: { limit: '2', ...(after === null ? {} : { after }), ...from } } },
      );
      expect(page.response.status).toBe(200);
      out.push(...page.data!.messages);
      from = page.data!.nextCursor === null ? null : next(page.data!.nextCursor);
    }
    return out;
  };
  return {
    back: await read({}, (c) => ({ before: String(c) })),
    forth: await read({ since: '-1' }, (c) => ({ since: String(c) })),
  };
}

describe('a departed member reads the conversation as it was at their leaving', () => {
  it('sees no edit, deletion, reaction, message or rename made after it, left or kicked; back in, sees all', async () => {
    const [ann, bob, cy, kim, dan] = await Promise.all([
      signUp(app, 'ann'),
      signUp(app, 'bob'),
      signUp(app, 'cy'),
      signUp(app, 'kim'),
      signUp(app, 'dan'),
    ]);
    const group = await ok(
      api(ann).POST('/conversations/groups', {
        body: { name: 'before', description: 'as it was', memberIds: [bob.userId, cy.userId, kim.userId] },
      }),
    );
    const id = group.conversationId;
    const send = (who: TestUser, text: string, extra: Omit<SendBody, 'clientMessageId' | 'text'> = {}) =>
      ok(
        api(who).POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: randomUUID(), text, ...extra },
        }),
      );
    const react = (who: TestUser, messageId: string, emoji: string) =>
      ok(
        api(who).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
          params: { path: { id, messageId, emoji } },
        }),
      );
    const invite = (who: TestUser, userId: string) =>
      ok(api(who).POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId } }));
    const accept = (who: TestUser) =>
      ok(api(who).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }));

    const one = await send(ann, 'one');
    const two = await send(bob, 'two', { replyToMessageId: one.messageId, attachments: [file] });
    await react(bob, one.messageId, '👍');
    const three = await send(ann, 'three');
    await ok(api(cy).POST('/conversations/{id}/leave', { params: { path: { id } } }));
    const kicked = await ok(
      api(ann).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: kim.userId } } }),
    );

    // What they take with them: the messages as they were at their leaving.
    const asLeft = await bothWays(cy, id, kicked.checkpoint);
    expect(asLeft.forth.map((m) => [m.seq, m.text])).toEqual([
      [one.seq, 'one'],
      [two.seq, 'two'],
      [three.seq, 'three'],
    ]);

    // After they left: an edit, a deletion, reactions added and removed, a member who joins
    // and reacts, a rename, new messages and a reply to an old one.
    await ok(
      api(ann).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: one.messageId } },
        body: { text: 'one, edited' },
      }),
    );
    await ok(
      api(bob).DELETE('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: two.messageId } },
      }),
    );
    await react(ann, one.messageId, '🎉');
    await ok(
      api(bob).DELETE('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id, messageId: one.messageId, emoji: '👍' } },
      }),
    );
    await invite(ann, dan.userId);
    await accept(dan);
    await react(dan, three.messageId, '❤️');
    await ok(
      api(ann).PATCH('/conversations/{id}', {
        params: { path: { id } },
        body: { name: 'after', description: 'changed' },
      }),
    );
    await send(dan, 'a reply after', { replyToMessageId: one.messageId });
    const last = await send(ann, 'four');

    // The members see all of it.
    const now = await bothWays(bob, id, last.checkpoint);
    const current = now.forth.find((m) => m.seq === one.seq);
    expect(current).toMatchObject({ text: 'one, edited', reactions: { '🎉': [ann.userId] }, replyCount: 1 });
    expect(current?.editedAt).not.toBeNull();
    expect(now.forth.find((m) => m.seq === two.seq)).toMatchObject({ deleted: true, text: '', attachments: [] });

    for (const departed of [cy, kim]) {
      const seen = await bothWays(departed, id, last.checkpoint);
      // Both ways, every page: exactly what they saw when they left.
      expect(seen.forth).toEqual(asLeft.forth);
      expect(seen.back).toEqual([...asLeft.forth].reverse());
      expect(seen.forth).toMatchObject([
        { seq: one.seq, text: 'one', editedAt: null, deleted: false, reactions: { '👍': [bob.userId] }, replyCount: 1 },
        { seq: two.seq, text: 'two', deleted: false, attachments: [file], reactions: {} },
        { seq: three.seq, text: 'three', reactions: {} },
      ]);
      // A page asked for past their leaving is empty.
      const later = await api(departed).GET('/conversations/{id}/messages', {
        params: { path: { id }, query: { since: String(three.seq) } },
      });
      expect(later.data).toEqual({ messages: [], nextCursor: null });
      // The conversation's details, members and receipts are the current members' only
      // (so the rename and who joined are not shown), and it is not in their inbox.
      const reads = [
        ['', () => api(departed).GET('/conversations/{id}', { params: { path: { id } } })],
        ['/members', () => api(departed).GET('/conversations/{id}/members', { params: { path: { id } } })],
        ['/receipts', () => api(departed).GET('/conversations/{id}/receipts', { params: { path: { id } } })],
      ] as const;
      for (const [path, read] of reads) {
        const refused = await read();
        expect(refused.response.status, path).toBe(404);
        expect(refused.error?.error.code).toBe('CONVERSATION.NOT_FOUND');
      }
      const inbox = await api(departed).GET('/conversations');
      expect(inbox.data?.conversations.map((c) => c.conversationId)).not.toContain(id);
    }

    // Back in the group, cy reads it as the members do.
    await invite(ann, cy.userId);
    const back = await accept(cy);
    const rejoined = await bothWays(cy, id, back.checkpoint);
    expect(rejoined.forth).toEqual(now.forth);
  });
});
