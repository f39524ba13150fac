/**
 * GET /search through the HTTP API, as the README states it: a user finds messages only in
 * the conversations they may read and only the span they may read (members who left or
 * were kicked up to their leaving, as the timeline shows them; one who joins finds the
 * history), any language, edits and deletions reflected with `?after=`, and no input
 * answers a 5xx.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { components } from '../client/schema.js';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf, checkpointOf, dataOf, everyPage } from '../test-client.js';

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

type Result = components['schemas']['SearchResult'];
type Query = { q: string; after?: string } & Record<string, string>;

const api = (who: TestUser) => apiOf(app, who);

async function group(owner: TestUser, members: TestUser[]): Promise<string> {
  return dataOf(
    await api(owner).POST('/conversations/groups', {
      body: { name: 'g', memberIds: members.map((m) => m.userId) },
    }),
  ).conversationId;
}

async function send(
  who: TestUser,
  id: string,
  text: string,
  attachments: { url: string; name: string; mimeType: string; sizeBytes: number }[] = [],
): Promise<{ messageId: string; checkpoint: string }> {
  const answer = await api(who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text, attachments },
  });
  return { messageId: dataOf(answer).messageId, checkpoint: checkpointOf(answer) };
}

/** Every result of a search, page by page. */
async function search(who: TestUser, query: Query): Promise<Result[]> {
  const pages = await everyPage((cursor) =>
    api(who).GET('/search', { params: { query: { ...query, ...(cursor ? { cursor } : {}) } } }),
  );
  return pages.flatMap((p) => p.results);
}
const texts = async (who: TestUser, query: Query): Promise<string[]> =>
  (await search(who, query)).map((r) => r.snippet.replace(/<\/?mark>/g, '')).sort();

describe('GET /search', () => {
  it('finds only what the caller may read: members all, departed up to their leaving, outsiders nothing', async () => {
    const [ann, bob, cy, kim, dan] = await Promise.all([
      signUp(app, 'ann'),
      signUp(app, 'bob'),
      signUp(app, 'cy'),
      signUp(app, 'kim'),
      signUp(app, 'dan'),
    ]);
    const id = await group(ann, [bob, kim]);
    const word = `kiwi${randomUUID().slice(0, 6)}`;
    const alpha = await send(ann, id, `${word} alpha`);
    await send(ann, id, `${word} beta`);
    const left = checkpointOf(await api(bob).POST('/conversations/{id}/leave', { params: { path: { id } } }));
    checkpointOf(
      await api(ann).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: kim.userId } } }),
    );
    // After they left: a new message, an edit and a deletion.
    await send(ann, id, `${word} gamma`);
    checkpointOf(
      await api(ann).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: alpha.messageId } },
        body: { text: `${word} alpha edited later` },
      }),
    );
    const invited = checkpointOf(
      await api(ann).POST('/conversations/{id}/invitations', {
        params: { path: { id } },
        body: { userId: dan.userId },
      }),
    );
    const joined = checkpointOf(
      await api(dan).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }),
    );
    expect(invited).toBeTruthy();

    expect(await texts(ann, { q: word, after: joined })).toEqual([
      `${word} alpha edited later`,
      `${word} beta`,
      `${word} gamma`,
    ]);
    // Left and kicked: the conversation as it read at their leaving.
    expect(await texts(bob, { q: word, after: joined })).toEqual([`${word} alpha`, `${word} beta`]);
    expect(await texts(kim, { q: word, after: joined })).toEqual([`${word} alpha`, `${word} beta`]);
    expect(await texts(bob, { q: 'gamma', after: joined })).toEqual([]);
    expect(await texts(bob, { q: 'later', after: joined })).toEqual([]);
    // Who joins finds the history the timeline shows them.
    expect(await texts(dan, { q: word, after: joined })).toEqual(await texts(ann, { q: word, after: joined }));
    // An outsider finds nothing, also when naming the conversation.
    expect(await texts(cy, { q: word, after: joined })).toEqual([]);
    expect(await texts(cy, { q: word, conversationId: id, after: joined })).toEqual([]);
    expect(left).toBeTruthy();
  });

  it('reflects sends, edits and deletions in the next query with ?after=', async () => {
    const [ann, bob] = await Promise.all([signUp(app, 'ann'), signUp(app, 'bob')]);
    const id = await group(ann, [bob]);
    const word = `papaya${randomUUID().slice(0, 6)}`;
    const sent = await send(ann, id, `${word} ripe`);
    expect(await texts(bob, { q: word, after: sent.checkpoint })).toEqual([`${word} ripe`]);
    const edited = checkpointOf(
      await api(ann).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: sent.messageId } },
        body: { text: `${word} rotten` },
      }),
    );
    expect(await texts(bob, { q: `${word} ripe`, after: edited })).toEqual([]);
    expect(await texts(bob, { q: 'rotten', conversationId: id, after: edited })).toEqual([`${word} rotten`]);
    const deleted = checkpointOf(
      await api(ann).DELETE('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: sent.messageId } },
      }),
    );
    expect(await texts(bob, { q: word, after: deleted })).toEqual([]);
  });

  it('keeps a dissolved group findable by its members', async () => {
    const [ann, bob] = await Promise.all([signUp(app, 'ann'), signUp(app, 'bob')]);
    const id = await group(ann, [bob]);
    await send(ann, id, 'dissolution notice');
    const gone = checkpointOf(await api(ann).DELETE('/conversations/{id}', { params: { path: { id } } }));
    expect(await texts(bob, { q: 'dissolution', conversationId: id, after: gone })).toEqual(['dissolution notice']);
  });

  it('finds CJK, mixed-script and accented text as a user expects, with marked snippets', async () => {
    const [ann, bob] = await Promise.all([signUp(app, 'ann'), signUp(app, 'bob')]);
    const id = await group(ann, [bob]);
    await send(ann, id, '我们的消息可靠性保障');
    await send(ann, id, 'メッセージの信頼性');
    await send(ann, id, '메시지 신뢰성 보장');
    await send(ann, id, 'Das Café <am> Bahnhof');
    const last = await send(ann, id, '新的iPhone用户');
    const q = (text: string) => texts(bob, { q: text, conversationId: id, after: last.checkpoint });
    expect(await q('消息')).toEqual(['我们的消息可靠性保障']);
    expect(await q('可靠')).toEqual(['我们的消息可靠性保障']);
    expect(await q('信頼')).toEqual(['メッセージの信頼性']);
    expect(await q('신뢰성')).toEqual(['메시지 신뢰성 보장']);
    expect(await q('cafe bahnhof')).toEqual(['Das Café &lt;am&gt; Bahnhof']);
    expect(await q('iphone用户')).toEqual(['新的iPhone用户']);
    const [hit] = await search(bob, { q: '可靠', conversationId: id, after: last.checkpoint });
    expect(hit!.snippet).toBe('我们的消息<mark>可靠</mark>性保障');
  });

  it('filters by sender, time sent and attachments, and pages without loss', async () => {
    const [ann, bob] = await Promise.all([signUp(app, 'ann'), signUp(app, 'bob')]);
    const id = await group(ann, [bob]);
    const word = `mango${randomUUID().slice(0, 6)}`;
    const file = { url: 'https://files.example/a.png', name: 'a.png', mimeType: 'image/png', sizeBytes: 10 };
    for (let i = 0; i < 5; i++) await send(ann, id, `${word} ${i}`);
    const withFile = await send(bob, id, `${word} file`, [file]);
    const after = withFile.checkpoint;
    const pages = await everyPage((cursor) =>
      api(bob).GET('/search', { params: { query: { q: word, limit: '2', after, ...(cursor ? { cursor } : {}) } } }),
    );
    expect(pages.length).toBe(3);
    expect(new Set(pages.flatMap((p) => p.results.map((r) => r.messageId))).size).toBe(6);
    expect(await texts(bob, { q: word, senderId: bob.userId, after })).toEqual([`${word} file`]);
    expect(await texts(bob, { q: word, hasAttachment: 'true', after })).toEqual([`${word} file`]);
    expect((await texts(bob, { q: word, hasAttachment: 'false', after })).length).toBe(5);
    expect(await texts(bob, { q: word, sentAfter: '2999-01-01T00:00:00Z', after })).toEqual([]);
    expect((await texts(bob, { q: word, sentBefore: '2999-01-01T00:00:00Z', after })).length).toBe(6);
  });

  it('answers any input with a 2xx or a 4xx, never reading it as syntax', async () => {
    const ann = await signUp(app, 'ann');
    const id = await group(ann, []);
    const sent = await send(ann, id, "don't panic: a & b | !c <-> d:* \\ 'quoted' 100%");
    const hostile = [
      "'",
      '"',
      '\\',
      "a:* & !b | 'c'",
      '<->',
      '!!',
      '*',
      '%',
      '_',
      '\u0000',
      'a\u0000b',
      '\u200F\u202Eabc',
      '😀🎉👍🏽',
      '{"match_all":{}}',
      "'; DROP TABLE x; --",
      'x'.repeat(256),
      'x'.repeat(257),
      'é'.repeat(10 * 1024),
      ' ',
    ];
    for (const q of hostile) {
      const { response } = await api(ann).GET('/search', { params: { query: { q, after: sent.checkpoint } } });
      expect(response.status, JSON.stringify(q)).toBeLessThan(500);
    }
    // Lone surrogates and bytes that are no UTF-8 at all, as a raw query string.
    for (const raw of ['%ED%A0%80', '%ED%BF%BF%20x', '%FF%FE', '%E0%A4', '%', '%%00', '%C0%80', '%F4%90%80%80']) {
      const answer = await app.inject({
        method: 'GET',
        url: `/search?q=${raw}&after=${sent.checkpoint}`,
        headers: { authorization: `Bearer ${ann.token}` },
      });
      expect(answer.statusCode, raw).toBeLessThan(500);
    }
    const bad: Query[] = [
      { q: '' },
      { q: 'x', limit: '0' },
      { q: 'x', limit: '101' },
      { q: 'x', cursor: 'nope' },
      { q: 'x', sentBefore: 'yesterday' },
      { q: 'x', hasAttachment: 'yes' },
      { q: 'x', conversationId: 'not-an-id' },
      { q: 'x', before: '1' },
    ];
    for (const query of bad) {
      const { response, error } = await api(ann).GET('/search', { params: { query } });
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(error).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    expect(await texts(ann, { q: "d:* 'quoted'", after: sent.checkpoint })).toHaveLength(1);
  });
});

describe('GET /search rate', () => {
  it('allows RATE_LIMIT_SEARCH_PER_SECOND searches a second per user, bursts of twice that, then 429 with Retry-After', async () => {
    const limited = await testApp({ RATE_LIMIT_SEARCH_PER_SECOND: '1' });
    try {
      const ann = await signUp(limited, 'ann');
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 3; i++) {
        const { response, error } = await apiOf(limited, ann).GET('/search', { params: { query: { q: 'x' } } });
        statuses.push(response.status);
        if (response.status === 429) {
          retryAfter = response.headers.get('retry-after');
          expect(error).toMatchObject({ error: { code: 'REQUEST.RATE_LIMITED' } });
        }
      }
      expect(statuses).toEqual([200, 200, 429]);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});
