/**
 * A member who left, or was kicked, reads the conversation as it was at their leaving and
 * nothing after (ADR 008): not the edits, deletions and reactions made later (also by
 * members who joined later), not a rename. Back in it, they read it as every member does.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';

let app: NestFastifyApplication;

beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

interface Answer {
  conversationId: string;
  seq: number;
  checkpoint: string | null;
  messageId: string;
}
interface Message {
  seq: number;
  messageId: string;
  text: string;
  editedAt: string | null;
  deleted: boolean;
  reactions: Record<string, string[]>;
  replyCount: number;
  attachments: unknown[];
}
interface Page {
  messages: Message[];
  nextCursor: number | null;
}

async function call<T = Answer>(
  who: TestUser,
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

/** A command that must succeed; its answer. */
async function ok(who: TestUser, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  const answer = await call(who, method, url, payload);
  expect(answer.status, `${method} ${url}: ${JSON.stringify(answer.body)}`).toBeLessThan(300);
  return answer.body;
}

const file = { url: 'https://files.example/a.png', name: 'a.png', mimeType: 'image/png', sizeBytes: 10 };

/** Every message, read both ways a page at a time: newest first with before=, then oldest first with since=. */
async function bothWays(
  who: TestUser,
  id: string,
  after: string | null,
): Promise<{ back: Message[]; forth: Message[] }> {
  const read = async (first: string, next: (cursor: number) => string) => {
    const out: Message[] = [];
    let url: string | null = first;
    while (url !== null) {
      const page: { status: number; body: Page } = await call<Page>(
        who,
        'GET',
        `/conversations/${id}/messages?limit=2${after === null ? '' : `&after=${after}`}${url}`,
      );
      expect(page.status).toBe(200);
      out.push(...page.body.messages);
      url = page.body.nextCursor === null ? null : next(page.body.nextCursor);
    }
    return out;
  };
  return {
    back: await read('', (c) => `&before=${c}`),
    forth: await read('&since=-1', (c) => `&since=${c}`),
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
    const group = await ok(ann, 'POST', '/conversations/groups', {
      name: 'before',
      description: 'as it was',
      memberIds: [bob.userId, cy.userId, kim.userId],
    });
    const id = group.conversationId;
    const send = (who: TestUser, text: string, extra: object = {}) =>
      ok(who, 'POST', `/conversations/${id}/messages`, { clientMessageId: randomUUID(), text, ...extra });

    const one = await send(ann, 'one');
    const two = await send(bob, 'two', { replyToMessageId: one.messageId, attachments: [file] });
    await ok(bob, 'PUT', `/conversations/${id}/messages/${one.messageId}/reactions/👍`);
    const three = await send(ann, 'three');
    await ok(cy, 'POST', `/conversations/${id}/leave`);
    const kicked = await ok(ann, 'DELETE', `/conversations/${id}/members/${kim.userId}`);

    // What they take with them: the messages as they were at their leaving.
    const asLeft = await bothWays(cy, id, kicked.checkpoint);
    expect(asLeft.forth.map((m) => [m.seq, m.text])).toEqual([
      [one.seq, 'one'],
      [two.seq, 'two'],
      [three.seq, 'three'],
    ]);

    // After they left: an edit, a deletion, reactions added and removed, a member who joins
    // and reacts, a rename, new messages and a reply to an old one.
    await ok(ann, 'PATCH', `/conversations/${id}/messages/${one.messageId}`, { text: 'one, edited' });
    await ok(bob, 'DELETE', `/conversations/${id}/messages/${two.messageId}`);
    await ok(ann, 'PUT', `/conversations/${id}/messages/${one.messageId}/reactions/🎉`);
    await ok(bob, 'DELETE', `/conversations/${id}/messages/${one.messageId}/reactions/👍`);
    await ok(ann, 'POST', `/conversations/${id}/invitations`, { userId: dan.userId });
    await ok(dan, 'POST', `/conversations/${id}/invitations/accept`);
    await ok(dan, 'PUT', `/conversations/${id}/messages/${three.messageId}/reactions/❤️`);
    await ok(ann, 'PATCH', `/conversations/${id}`, { name: 'after', description: 'changed' });
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
      const later = await call<Page>(departed, 'GET', `/conversations/${id}/messages?since=${three.seq}`);
      expect(later.body).toEqual({ messages: [], nextCursor: null });
      // The conversation's details, members and receipts are the current members' only
      // (so the rename and who joined are not shown), and it is not in their inbox.
      for (const path of ['', '/members', '/receipts']) {
        const refused = await call<{ error: { code: string } }>(departed, 'GET', `/conversations/${id}${path}`);
        expect(refused.status, path).toBe(404);
        expect(refused.body.error.code).toBe('CONVERSATION.NOT_FOUND');
      }
      const inbox = await call<{ conversations: { conversationId: string }[] }>(departed, 'GET', '/conversations');
      expect(inbox.body.conversations.map((c) => c.conversationId)).not.toContain(id);
    }

    // Back in the group, cy reads it as the members do.
    await ok(ann, 'POST', `/conversations/${id}/invitations`, { userId: cy.userId });
    const back = await ok(cy, 'POST', `/conversations/${id}/invitations/accept`);
    const rejoined = await bothWays(cy, id, back.checkpoint);
    expect(rejoined.forth).toEqual(now.forth);
  });
});
