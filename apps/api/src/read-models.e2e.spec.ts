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
import { EVENT_STORE } from './tokens.js';

interface Answer {
  conversationId: string;
  seq: number;
  checkpoint: string | null;
  messageId?: string;
}

function client(app: () => NestFastifyApplication) {
  return async <T = Answer>(
    who: TestUser,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => {
    const response = await app().inject({
      method,
      url,
      headers: { authorization: `Bearer ${who.token}` },
      ...(payload ? { payload } : {}),
    });
    return { status: response.statusCode, headers: response.headers, body: response.json<T>() };
  };
}

interface Health {
  projections: { name: string; state: string; lag: number | null }[];
}

async function projectionStates(app: NestFastifyApplication): Promise<Record<string, string>> {
  const health = (await app.inject({ method: 'GET', url: '/health' })).json<Health>();
  return Object.fromEntries(health.projections.map((p) => [p.name, p.state]));
}

describe('what a request can put in an event, every read model stores', () => {
  let app: NestFastifyApplication;
  const call = client(() => app);
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('a mute until a time outside 1970..9999 is refused; the bounds themselves are stored', async () => {
    const ada = await signUp(app, 'ada');
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'alone' });
    const mute = (until: string) =>
      call(ada, 'PUT', `/conversations/${group.body.conversationId}/mute`, { muted: true, until });

    for (const until of ['0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '10000-01-01T00:00:00Z']) {
      const refused = await mute(until);
      expect(refused.status, until).toBe(400);
      expect(refused.body).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    const first = await mute('1970-01-01T00:00:00Z');
    expect(first.status).toBe(200);
    const last = await mute('9999-12-31T23:59:59.999Z');
    expect(last.status).toBe(200);
    // Read back through the read models: the mute holds, and nothing was parked.
    const inbox = await call<{ conversations: { muted: boolean }[] }>(
      ada,
      'GET',
      `/conversations?after=${last.body.checkpoint}`,
    );
    expect(inbox.status).toBe(200);
    expect(inbox.body.conversations[0]!.muted).toBe(true);
    expect(Object.values(await projectionStates(app)).every((state) => state === 'running')).toBe(true);
  });

  it('lone surrogates become U+FFFD once, at the edge: the event holds what REST shows', async () => {
    const ada = await signUp(app, 'ada');
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'g\ud800' });
    const id = group.body.conversationId;
    const sent = await call(ada, 'POST', `/conversations/${id}/messages`, {
      clientMessageId: 'lone\udc00',
      text: 'a\ud800b \udc00 😀',
      attachments: [{ url: 'https://files.example/x', name: 'n\ud83d', mimeType: 'text/plain', sizeBytes: 1 }],
    });
    expect(sent.status).toBe(201);
    const store = app.get<EventStore>(EVENT_STORE);
    const events = await store.readStream(streamIdOf('conversation', id));
    const data = events.map((e) => e.data as Record<string, unknown>);
    expect(data[0]).toMatchObject({ name: 'g\ufffd' });
    expect(data[1]).toMatchObject({
      text: 'a\ufffdb \ufffd 😀',
      attachments: [{ name: 'n\ufffd' }],
    });
    expect(events[1]!.metadata.clientMessageId).toBe('lone\ufffd');

    const page = await call<{ messages: { text: string; attachments: { name: string }[] }[] }>(
      ada,
      'GET',
      `/conversations/${id}/messages?after=${sent.body.checkpoint}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.messages[0]).toMatchObject({ text: 'a\ufffdb \ufffd 😀', attachments: [{ name: 'n\ufffd' }] });
  });

  it('before=, since= and limit= take decimal digits only, within bounds', async () => {
    const ada = await signUp(app, 'ada');
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'pages' });
    const url = `/conversations/${group.body.conversationId}/messages`;
    for (const query of [
      'before=',
      'since=',
      'before=0x10',
      'since=0x10',
      'before=1e3',
      'before=%201',
      'before=-1',
      'since=-2',
      'before=9007199254740992',
      'limit=',
      'limit=0x10',
      'limit=0',
      'limit=101',
    ]) {
      const refused = await call(ada, 'GET', `${url}?${query}`);
      expect(refused.status, query).toBe(400);
      expect(refused.body, query).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    for (const query of ['before=0', 'before=10', 'since=-1', 'since=0', 'limit=1', 'limit=100', 'before=007']) {
      const page = await call(ada, 'GET', `${url}?${query}&after=${group.body.checkpoint}`);
      expect(page.status, query).toBe(200);
    }
  });
});

describe('authorization never fails open', () => {
  let app: NestFastifyApplication;
  const call = client(() => app);
  beforeAll(async () => {
    app = await testApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('while membership is stopped at a parked event, a kicked member reads nothing: 503, then 404 once it runs', async () => {
    const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
    const group = await call(ada, 'POST', '/conversations/groups', { name: 'team', memberIds: [bob.userId] });
    const id = group.body.conversationId;
    const before = await call(ada, 'POST', `/conversations/${id}/messages`, { clientMessageId: 'm1', text: 'hi' });
    expect((await call(bob, 'GET', `/conversations/${id}?after=${before.body.checkpoint}`)).status).toBe(200);

    // No request can park an event any more, so the test writes one past the edge: a bug's event.
    await parkMembership(app, id, ada.userId);
    await expect.poll(async () => (await projectionStates(app))['membership.v1'], { timeout: 15_000 }).toBe('stopped');

    // The command side reads the conversation's stream: kicking and writing still work.
    expect((await call(ada, 'DELETE', `/conversations/${id}/members/${bob.userId}`)).status).toBe(200);
    const after = await call(ada, 'POST', `/conversations/${id}/messages`, { clientMessageId: 'm2', text: 'secret' });
    expect(after.status).toBe(201);

    for (const url of [
      `/conversations/${id}`,
      `/conversations/${id}/messages`,
      `/conversations/${id}/messages?since=-1`,
      `/conversations/${id}/members`,
      `/conversations/${id}/receipts`,
      '/conversations',
    ]) {
      const refused = await call(bob, 'GET', url);
      expect(refused.status, url).toBe(503);
      expect(refused.headers['retry-after'], url).toBeDefined();
      expect(refused.body, url).toMatchObject({ error: { code: 'PROJECTIONS.UNAVAILABLE' } });
    }
    // Given a checkpoint the stopped read model will not reach, the refusal still comes at
    // once (the guard runs before read-your-writes would wait), not PROJECTIONS.BEHIND later.
    const started = Date.now();
    const waited = await call(bob, 'GET', `/conversations/${id}/messages?after=${after.body.checkpoint}`);
    expect(waited.body).toMatchObject({ error: { code: 'PROJECTIONS.UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(READ_YOUR_WRITES_MS);

    // The operator skips the parked event: membership runs on, and bob is out.
    expect(await resolveParkedEvent(app.get(DataSource), 'membership.v1', 'skip')).toBe(true);
    await expect.poll(async () => (await projectionStates(app))['membership.v1'], { timeout: 15_000 }).toBe('running');
    const gone = await call(bob, 'GET', `/conversations/${id}?after=${after.body.checkpoint}`);
    expect(gone.status).toBe(404);
    const history = await call<{ messages: { text: string }[] }>(bob, 'GET', `/conversations/${id}/messages`);
    expect(history.body.messages.map((m) => m.text)).toEqual(['hi']);
  });
});
