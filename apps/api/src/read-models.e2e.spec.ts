/**
 * No input stops a read model, and a stopped one fails closed: the values a request can put
 * into an event are bounded by what every read model stores (dates, seqs, strings), and the
 * reads membership authorizes answer 503 while it is stopped, never from stale rows.
 */
import type { EventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { READ_YOUR_WRITES_MS } from '@herald/nest';
import { resolveParkedEvent } from '@herald/projection-runtime';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkMembership, signUp, testApp, type TestUser } from './test-app.js';
import { apiOf, checkpointOf, dataOf } from './test-client.js';
import { EVENT_STORE } from './tokens.js';

async function projectionStates(app: NestFastifyApplication): Promise<Record<string, string>> {
  // 200 when ready, 503 (the same report) while a projection is not.
  const { data, error, response } = await apiOf(app).GET('/health');
  const health = data ?? (error !== undefined && 'projections' in error ? error : undefined);
  if (health === undefined) throw new Error(`GET /health: ${response.status}`);
  return Object.fromEntries(health.projections.map((p) => [p.name, p.state]));
}

describe('what a request can put in an event, every read model stores', () => {
  let app: NestFastifyApplication;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('a mute until a time outside 1970..9999 is refused; the bounds themselves are stored', async () => {
    const ada = await signUp(app, 'ada');
    const group = await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'alone' } });
    const id = dataOf(group).conversationId;
    const mute = (until: string) =>
      apiOf(app, ada).PUT('/conversations/{id}/mute', { params: { path: { id } }, body: { muted: true, until } });

    for (const until of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '10000-01-01T00:00:00Z']) {
      // The document forbids these: `until` is a date-time from 1970 to 9999.
      const refused = await app.inject({
        method: 'PUT',
        url: `/conversations/${id}/mute`,
        headers: { authorization: `Bearer ${ada.token}` },
        payload: { muted: true, until },
      });
      expect(refused.statusCode, until).toBe(400);
      expect(refused.json()).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    const first = await mute('1970-01-01T00:00:00Z');
    expect(first.response.status).toBe(200);
    const last = await mute('9999-12-31T23:59:59.999Z');
    expect(last.response.status).toBe(200);
    // Read back through the read models: the mute holds, and nothing was parked.
    const inbox = await apiOf(app, ada).GET('/conversations', { params: { query: { after: checkpointOf(last) } } });
    expect(inbox.response.status).toBe(200);
    expect(inbox.data!.conversations[0]!.muted).toBe(true);
    expect(Object.values(await projectionStates(app)).every((state) => state === 'running')).toBe(true);
  });

  it('lone surrogates become U+FFFD once, at the edge: the event holds what REST shows', async () => {
    const ada = await signUp(app, 'ada');
    const group = await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'g\ud800' } });
    const id = dataOf(group).conversationId;
    const sent = await apiOf(app, ada).POST('/conversations/{id}/messages', {
      params: { path: { id } },
      body: {
        clientMessageId: 'lone\udc00',
        text: 'a\ud800b \udc00 😀',
        attachments: [{ url: 'https://files.example/x', name: 'n\ud83d', mimeType: 'text/plain', sizeBytes: 1 }],
      },
    });
    expect(sent.response.status).toBe(201);
    const store = app.get<EventStore>(EVENT_STORE);
    const events = await store.readStream(streamIdOf('conversation', id));
    const data = events.map((e) => e.data as Record<string, unknown>);
    expect(data[0]).toMatchObject({ name: 'g\ufffd' });
    expect(data[1]).toMatchObject({
      text: 'a\ufffdb \ufffd 😀',
      attachments: [{ name: 'n\ufffd' }],
    });
    expect(events[1]!.metadata.clientMessageId).toBe('lone\ufffd');

    const page = await apiOf(app, ada).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after: checkpointOf(sent) } },
    });
    expect(page.response.status).toBe(200);
    expect(page.data!.messages[0]).toMatchObject({ text: 'a\ufffdb \ufffd 😀', attachments: [{ name: 'n\ufffd' }] });
  });

  it('before=, since= and limit= take decimal digits only, within bounds', async () => {
    const ada = await signUp(app, 'ada');
    const group = await apiOf(app, ada).POST('/conversations/groups', { body: { name: 'pages' } });
    const id = dataOf(group).conversationId;
    type Query = { before?: string; since?: string; limit?: string; after?: string };
    const labelOf = (query: Query) =>
      Object.entries(query)
        .map(([name, value]) => `${name}=${value}`)
        .join('&');
    const page = async (query: Query) => {
      const { data, error, response } = await apiOf(app, ada).GET('/conversations/{id}/messages', {
        params: { path: { id }, query },
      });
      return { status: response.status, body: data ?? error };
    };
    // Below, a string is a query the document forbids, an object one it allows (by pattern).
    const forbidden = async (query: string) => {
      // The document forbids these: before/since/limit are ^[0-9]{1,16}$ (since also -1).
      const response = await app.inject({
        method: 'GET',
        url: `/conversations/${id}/messages?${query}`,
        headers: { authorization: `Bearer ${ada.token}` },
      });
      return { status: response.statusCode, body: response.json<unknown>() };
    };
    for (const query of [
      'before=',
      'since=',
      'before=0x10',
      'since=0x10',
      'before=1e3',
      'before=%201',
      'before=-1',
      'since=-2',
      { before: '9007199254740992' },
      'limit=',
      'limit=0x10',
      { limit: '0' },
      { limit: '101' },
    ]) {
      const label = typeof query === 'string' ? query : labelOf(query);
      const refused = typeof query === 'string' ? await forbidden(query) : await page(query);
      expect(refused.status, label).toBe(400);
      expect(refused.body, label).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    const after = checkpointOf(group);
    for (const query of [
      { before: '0' },
      { before: '10' },
      { since: '-1' },
      { since: '0' },
      { limit: '1' },
      { limit: '100' },
      { before: '007' },
    ]) {
      const accepted = await page({ ...query, after });
      expect(accepted.status, labelOf(query)).toBe(200);
    }
  });
});

describe('authorization never fails open', () => {
  let app: NestFastifyApplication;
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('while membership is stopped at a parked event, a kicked member reads nothing: 503, then 404 once it runs', async () => {
    const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
    const group = await apiOf(app, ada).POST('/conversations/groups', {
      body: { name: 'team', memberIds: [bob.userId] },
    });
    const id = dataOf(group).conversationId;
    const send = (clientMessageId: string, text: string) =>
      apiOf(app, ada).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId, text },
      });
    const conversationOf = (who: TestUser, after: string) =>
      apiOf(app, who).GET('/conversations/{id}', { params: { path: { id }, query: { after } } });
    const before = await send('m1', 'hi');
    expect((await conversationOf(bob, checkpointOf(before))).response.status).toBe(200);

    // No request can park an event any more, so the test writes one past the edge: a bug's event.
    await parkMembership(app, id, ada.userId);
    await expect.poll(async () => (await projectionStates(app))['membership.v1'], { timeout: 15_000 }).toBe('stopped');

    // The command side reads the conversation's stream: kicking and writing still work.
    const kicked = await apiOf(app, ada).DELETE('/conversations/{id}/members/{userId}', {
      params: { path: { id, userId: bob.userId } },
    });
    expect(kicked.response.status).toBe(200);
    const after = await send('m2', 'secret');
    expect(after.response.status).toBe(201);

    const bobs = apiOf(app, bob);
    for (const { url, run } of [
      { url: `/conversations/${id}`, run: () => bobs.GET('/conversations/{id}', { params: { path: { id } } }) },
      {
        url: `/conversations/${id}/messages`,
        run: () => bobs.GET('/conversations/{id}/messages', { params: { path: { id } } }),
      },
      {
        url: `/conversations/${id}/messages?since=-1`,
        run: () => bobs.GET('/conversations/{id}/messages', { params: { path: { id }, query: { since: '-1' } } }),
      },
      {
        url: `/conversations/${id}/members`,
        run: () => bobs.GET('/conversations/{id}/members', { params: { path: { id } } }),
      },
      {
        url: `/conversations/${id}/receipts`,
        run: () => bobs.GET('/conversations/{id}/receipts', { params: { path: { id } } }),
      },
      { url: '/conversations', run: () => bobs.GET('/conversations') },
    ]) {
      const refused = await run();
      expect(refused.response.status, url).toBe(503);
      expect(refused.response.headers.get('retry-after'), url).not.toBeNull();
      expect(refused.error, url).toMatchObject({ error: { code: 'PROJECTIONS.UNAVAILABLE' } });
    }
    // Given a checkpoint the stopped read model will not reach, the refusal still comes at
    // once (the guard runs before read-your-writes would wait), not PROJECTIONS.BEHIND later.
    const checkpoint = checkpointOf(after);
    const started = Date.now();
    const waited = await bobs.GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after: checkpoint } },
    });
    expect(waited.error).toMatchObject({ error: { code: 'PROJECTIONS.UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(READ_YOUR_WRITES_MS);

    // The operator skips the parked event: membership runs on, and bob is out.
    expect(await resolveParkedEvent(app.get(DataSource), 'membership.v1', 'skip')).toBe(true);
    await expect.poll(async () => (await projectionStates(app))['membership.v1'], { timeout: 15_000 }).toBe('running');
    const gone = await conversationOf(bob, checkpoint);
    expect(gone.response.status).toBe(404);
    const history = await bobs.GET('/conversations/{id}/messages', { params: { path: { id } } });
    expect(history.data?.messages.map((m) => m.text)).toEqual(['hi']);
  });
});
