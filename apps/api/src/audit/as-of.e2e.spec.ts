/**
 * A conversation as of a seq, a checkpoint and a time equals what the live read API
 * (GET /conversations/:id, /members, /messages) answered at that moment: snapshots taken
 * after each step of a scenario with joins, a kick, edits, a deletion, reactions and a
 * rename, compared later with the audit API's as-of answers.
 */
import { SystemRoles } from '@herald/identity';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';

let app: NestFastifyApplication;
let auditor: TestUser;

beforeAll(async () => {
  app = await testApp();
  auditor = await signUp(app, 'auditor');
  await app
    .get(SystemRoles)
    .grant(auditor.userId, 'auditor', { actorId: 'cli:test', correlationId: randomUUID(), now: new Date() });
});
afterAll(async () => {
  await app.close();
});

interface Step {
  readonly seq: number;
  readonly checkpoint: string;
  readonly at: string;
  readonly live: { conversation: unknown; members: unknown[]; messages: unknown[] };
}

const get = async (who: TestUser, url: string): Promise<Record<string, unknown>> => {
  const answer = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${who.token}` } });
  expect(answer.statusCode, `${url}: ${answer.body}`).toBe(200);
  return answer.json<Record<string, unknown>>();
};

async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  expect(response.status, `${response.status}: ${JSON.stringify(data ?? error)}`).toBeLessThan(300);
  return data!;
}

describe('a conversation as of a point', () => {
  it('equals the live reads at that moment, by seq, checkpoint and time', async () => {
    const [ann, bob, cy, dan] = await Promise.all([
      signUp(app, 'ann'),
      signUp(app, 'bob'),
      signUp(app, 'cy'),
      signUp(app, 'dan'),
    ]);
    const steps: Step[] = [];
    const created = await ok(
      apiOf(app, ann).POST('/conversations/groups', { body: { name: 'then', memberIds: [bob.userId, cy.userId] } }),
    );
    const id = created.conversationId;
    /** What the owner's live reads answer once the step is applied, all pages. */
    const snapshot = async (answer: { seq: number; checkpoint: string | null }): Promise<void> => {
      const after = answer.checkpoint!;
      const conversation = await get(ann, `/conversations/${id}?after=${after}`);
      const members = (await get(ann, `/conversations/${id}/members?after=${after}&limit=100`)).members as unknown[];
      const messages = (await get(ann, `/conversations/${id}/messages?after=${after}&limit=100`)).messages as unknown[];
      const at = new Date().toISOString();
      // The next step is recorded after `at`, in a later millisecond.
      await sleep(5);
      steps.push({ seq: answer.seq, checkpoint: after, at, live: { conversation, members, messages } });
    };
    const send = (who: TestUser, text: string, replyToMessageId?: string) =>
      ok(
        apiOf(app, who).POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: randomUUID(), text, ...(replyToMessageId ? { replyToMessageId } : {}) },
        }),
      );
    await snapshot(created);
    const one = await send(ann, 'one');
    await snapshot(one);
    const two = await send(bob, 'two', one.messageId);
    await snapshot(two);
    await snapshot(
      await ok(
        apiOf(app, bob).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
          params: { path: { id, messageId: one.messageId, emoji: '👍' } },
        }),
      ),
    );
    await snapshot(
      await ok(
        apiOf(app, ann).PATCH('/conversations/{id}/messages/{messageId}', {
          params: { path: { id, messageId: one.messageId } },
          body: { text: 'one, edited' },
        }),
      ),
    );
    await ok(
      apiOf(app, ann).POST('/conversations/{id}/invitations', {
        params: { path: { id } },
        body: { userId: dan.userId },
      }),
    );
    await snapshot(
      await ok(apiOf(app, dan).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } })),
    );
    await snapshot(
      await ok(
        apiOf(app, ann).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: cy.userId } } }),
      ),
    );
    await snapshot(
      await ok(
        apiOf(app, bob).DELETE('/conversations/{id}/messages/{messageId}', {
          params: { path: { id, messageId: two.messageId } },
        }),
      ),
    );
    await snapshot(
      await ok(
        apiOf(app, bob).DELETE('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
          params: { path: { id, messageId: one.messageId, emoji: '👍' } },
        }),
      ),
    );
    await snapshot(
      await ok(
        apiOf(app, ann).PUT('/conversations/{id}/members/{userId}/role', {
          params: { path: { id, userId: dan.userId } },
          body: { role: 'admin' },
        }),
      ),
    );
    await snapshot(
      await ok(apiOf(app, ann).PATCH('/conversations/{id}', { params: { path: { id } }, body: { name: 'now' } })),
    );
    await snapshot(await send(dan, 'three'));
    // The live view moved on since: every step's moment is only in history now.
    expect(steps.map((s) => s.live.members.length)).toContain(3);
    expect(new Set(steps.map((s) => JSON.stringify(s.live))).size).toBe(steps.length);

    for (const step of steps) {
      for (const point of [`seq=${step.seq}`, `checkpoint=${step.checkpoint}`, `at=${encodeURIComponent(step.at)}`]) {
        const asOf = await get(auditor, `/audit/conversations/${id}?${point}&limit=100`);
        expect({ conversation: asOf.conversation, members: asOf.members, messages: asOf.messages }, point).toEqual(
          step.live,
        );
        expect(asOf.asOf).toMatchObject({ seq: step.seq });
      }
    }
    // Paged as the live route pages: two at a time, newest first.
    const last = steps[steps.length - 1]!;
    const firstPage = await get(auditor, `/audit/conversations/${id}?seq=${last.seq}&limit=2`);
    expect(firstPage.messages).toEqual(last.live.messages.slice(0, 2));
    const secondPage = await get(
      auditor,
      `/audit/conversations/${id}?seq=${last.seq}&limit=2&before=${String(firstPage.nextCursor)}`,
    );
    expect(secondPage.messages).toEqual(last.live.messages.slice(2, 4));
    // Before the conversation began; one point only.
    const before = await get(auditor, `/audit/conversations/${id}?at=2000-01-01T00:00:00Z`);
    expect(before).toEqual({ asOf: null, conversation: null, members: [], messages: [], nextCursor: null });
    const both = await app.inject({
      method: 'GET',
      url: `/audit/conversations/${id}?seq=1&checkpoint=${last.checkpoint}`,
      headers: { authorization: `Bearer ${auditor.token}` },
    });
    expect(both.statusCode).toBe(400);
    const unknown = await app.inject({
      method: 'GET',
      url: `/audit/conversations/${randomUUID()}?seq=1`,
      headers: { authorization: `Bearer ${auditor.token}` },
    });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('the as-of budget', () => {
  it('folds at most 2 conversations at once per auditor: more at the same time answer 429 REQUEST.RATE_LIMITED', async () => {
    // Each as-of read folds the stream from its start (up to 100,000 events, in memory and in
    // a transaction of the read models' pool): an auditor's burst of them must not take the
    // serving pool and the memory of the instance.
    const ann = await signUp(app, 'ann');
    const { conversationId: id } = await ok(
      apiOf(app, ann).POST('/conversations/groups', { body: { name: 'long', memberIds: [] } }),
    );
    let sent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (sent < 1_500) {
          sent++;
          await ok(
            apiOf(app, ann).POST('/conversations/{id}/messages', {
              params: { path: { id } },
              body: { clientMessageId: randomUUID(), text: `message ${sent}` },
            }),
          );
        }
      }),
    );
    const asOf = () =>
      app.inject({
        method: 'GET',
        url: `/audit/conversations/${id}?seq=1500`,
        headers: { authorization: `Bearer ${auditor.token}` },
      });
    const burst = await Promise.all(Array.from({ length: 8 }, asOf));
    const statuses = burst.map((answer) => answer.statusCode);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    const refused = burst.find((answer) => answer.statusCode === 429);
    expect(refused?.json()).toMatchObject({ error: { code: 'REQUEST.RATE_LIMITED' } });
    expect(refused?.headers['retry-after']).toBe('1');
    // One after another, each is answered.
    for (let i = 0; i < 3; i++) expect((await asOf()).statusCode).toBe(200);
  });
});
