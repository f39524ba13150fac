/**
 * The authorization matrix: every route the API serves (read from the router, so a new
 * route without an entry here fails the test) against the anonymous, an outsider, a
 * member who left, and a member who is not an admin. Denials to conversations are the
 * same 404 whether the conversation exists or not.
 *
 * And moderation (ADR 020) role by role: the owner, an admin, a member, a blocked member, a
 * kicked and a banned former member, an outsider, for each thing moderation allows.
 *
 * And the WebSocket: every frame type a client may send (read from the gateway's schema,
 * so a new type without an entry fails) against the anonymous, an outsider, members who
 * left or were kicked, a user blocked by the one they name, and bad frames.
 */
import { streamIdOf } from '@herald/events';
import { JsonLogger } from '@herald/nest';
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_FRAME_TYPES, type ClientFrameType } from './push/frames.js';
import { MAX_PAYLOAD } from './push/limits.js';
import { servedRoutes, signUp, testApp, type TestUser } from './test-app.js';
import { apiOf, type Api } from './test-client.js';
import { handshake, hangUp, listen, openSocket, type Frame, type TestSocket } from './test-socket.js';

/** `auditor`: a system role; everyone else, the anonymous included, gets the 404 of a missing route (audit.e2e.spec.ts reads them as an auditor). */
type Scope = 'public' | 'signed-in' | 'member' | 'history' | 'admin' | 'owner' | 'auditor';

/** What a route's path names, and the checkpoint a read of a conversation waits for. */
interface At {
  id: string;
  messageId: string;
  emoji: string;
  linkId: string;
  userId: string;
  after: string;
  ids: Ids;
}

/** An answer of the typed client, whichever route. */
interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/**
 * A route's scope and, for every route the tests call, the request through the typed
 * client (with a body that would be valid for a member; `body` marks the routes that take
 * one), so a route the OpenAPI document lacks does not compile.
 */
type Route =
  { scope: 'public' } | { scope: Exclude<Scope, 'public'>; body?: true; send: (api: Api, at: At) => Promise<Answer> };

/** Every route, its scope, and such a request. */
const MATRIX: Record<string, Route> = {
  'GET /health': { scope: 'public' },
  'GET /health/live': { scope: 'public' },
  'GET /health/ready': { scope: 'public' },
  // Prometheus's scrape: not routed from outside by the ingress (README "Metrics").
  'GET /metrics': { scope: 'public' },
  // The OpenAPI document and Swagger UI's files.
  'GET /docs': { scope: 'public' },
  'GET /docs/': { scope: 'public' },
  // Swagger UI's static files: registered once Fastify is ready (listening, as here, or after a first request).
  'GET /docs/*': { scope: 'public' },
  'GET /docs/LICENSE': { scope: 'public' },
  'GET /docs/docs/swagger-ui-init.js': { scope: 'public' },
  'GET /docs/index.html': { scope: 'public' },
  'GET /docs/json': { scope: 'public' },
  'GET /docs/swagger-ui-init.js': { scope: 'public' },
  'GET /docs/yaml': { scope: 'public' },
  'POST /auth/register': { scope: 'public' },
  'POST /auth/refresh': { scope: 'public' },
  'POST /auth/sign-in': { scope: 'public' },
  'POST /auth/sign-out': { scope: 'signed-in', send: (api) => api.POST('/auth/sign-out') },
  'GET /me': { scope: 'signed-in', send: (api) => api.GET('/me') },
  'PATCH /me': { scope: 'signed-in', body: true, send: (api) => api.PATCH('/me', { body: { statusText: 'hi' } }) },
  // The caller's own lists and sessions: nothing in them names another user's.
  'GET /me/invitations': { scope: 'signed-in', send: (api) => api.GET('/me/invitations') },
  'GET /me/contact-requests': { scope: 'signed-in', send: (api) => api.GET('/me/contact-requests') },
  'GET /me/sessions': { scope: 'signed-in', send: (api) => api.GET('/me/sessions') },
  'DELETE /me/sessions/:sessionId': {
    scope: 'signed-in',
    send: (api) => api.DELETE('/me/sessions/{sessionId}', { params: { path: { sessionId: randomUUID() } } }),
  },
  // A user's own devices: nobody else's are reachable (another's device id answers 404).
  'POST /me/devices': {
    scope: 'signed-in',
    body: true,
    send: (api) => api.POST('/me/devices', { body: { kind: 'webhook', url: 'https://bots.example.com/hook' } }),
  },
  'GET /me/devices': { scope: 'signed-in', send: (api) => api.GET('/me/devices') },
  'DELETE /me/devices/:deviceId': {
    scope: 'signed-in',
    send: (api, { id }) => api.DELETE('/me/devices/{deviceId}', { params: { path: { deviceId: id } } }),
  },
  'GET /me/notification-settings': { scope: 'signed-in', send: (api) => api.GET('/me/notification-settings') },
  'PUT /me/notification-settings': {
    scope: 'signed-in',
    body: true,
    send: (api) => api.PUT('/me/notification-settings', { body: { previews: true } }),
  },
  'GET /users': {
    scope: 'signed-in',
    send: (api) => api.GET('/users', { params: { query: { username: 'nobody' } } }),
  },
  'GET /users/:userId': {
    scope: 'signed-in',
    send: (api, { userId }) => api.GET('/users/{userId}', { params: { path: { userId } } }),
  },
  'GET /contacts': { scope: 'signed-in', send: (api) => api.GET('/contacts') },
  'POST /contacts/:userId': {
    scope: 'signed-in',
    send: (api, { userId }) => api.POST('/contacts/{userId}', { params: { path: { userId } } }),
  },
  'DELETE /contacts/:userId': {
    scope: 'signed-in',
    send: (api, { userId }) => api.DELETE('/contacts/{userId}', { params: { path: { userId } } }),
  },
  'POST /contacts/:userId/accept': {
    scope: 'signed-in',
    send: (api, { userId }) => api.POST('/contacts/{userId}/accept', { params: { path: { userId } } }),
  },
  'POST /contacts/:userId/decline': {
    scope: 'signed-in',
    send: (api, { userId }) => api.POST('/contacts/{userId}/decline', { params: { path: { userId } } }),
  },
  'GET /blocks': { scope: 'signed-in', send: (api) => api.GET('/blocks') },
  // Anyone signed in may search; what they find is their own conversations' (search.e2e.spec.ts).
  'GET /search': {
    scope: 'signed-in',
    send: (api, { after }) => api.GET('/search', { params: { query: { q: 'hello', after } } }),
  },
  // Operators only (operators/projections.e2e.spec.ts); here: signed in at least.
  'POST /projections/:name/resolve': {
    scope: 'signed-in',
    body: true,
    send: (api) =>
      api.POST('/projections/{name}/resolve', {
        params: { path: { name: 'membership' } },
        body: { resolution: 'skip' },
      }),
  },
  'GET /audit/streams/:streamId/events': {
    scope: 'auditor',
    send: (api, { id }) =>
      api.GET('/audit/streams/{streamId}/events', { params: { path: { streamId: streamIdOf('conversation', id) } } }),
  },
  'GET /audit/log': { scope: 'auditor', send: (api) => api.GET('/audit/log', { parseAs: 'text' }) },
  'GET /audit/conversations/:id': {
    scope: 'auditor',
    send: (api, { id }) => api.GET('/audit/conversations/{id}', { params: { path: { id }, query: { seq: '0' } } }),
  },
  'GET /audit/events/:ref/proof': {
    scope: 'auditor',
    send: (api) => api.GET('/audit/events/{ref}/proof', { params: { path: { ref: randomUUID() } } }),
  },

  'PUT /blocks/:userId': {
    scope: 'signed-in',
    send: (api, { userId }) => api.PUT('/blocks/{userId}', { params: { path: { userId } } }),
  },
  'DELETE /blocks/:userId': {
    scope: 'signed-in',
    send: (api, { userId }) => api.DELETE('/blocks/{userId}', { params: { path: { userId } } }),
  },
  'GET /conversations': { scope: 'signed-in', send: (api) => api.GET('/conversations') },
  'POST /conversations/direct': {
    scope: 'signed-in',
    body: true,
    send: (api, { ids }) => api.POST('/conversations/direct', { body: { userId: ids.owner } }),
  },
  'POST /conversations/groups': {
    scope: 'signed-in',
    body: true,
    send: (api) => api.POST('/conversations/groups', { body: { name: 'g' } }),
  },
  'GET /conversations/:id': {
    scope: 'member',
    send: (api, { id, after }) => api.GET('/conversations/{id}', { params: { path: { id }, query: { after } } }),
  },
  'GET /conversations/:id/members': {
    scope: 'member',
    send: (api, { id, after }) =>
      api.GET('/conversations/{id}/members', { params: { path: { id }, query: { after } } }),
  },
  'PATCH /conversations/:id': {
    scope: 'admin',
    body: true,
    send: (api, { id }) => api.PATCH('/conversations/{id}', { params: { path: { id } }, body: { name: 'renamed' } }),
  },
  'DELETE /conversations/:id': {
    scope: 'owner',
    send: (api, { id }) => api.DELETE('/conversations/{id}', { params: { path: { id } } }),
  },
  'GET /conversations/:id/messages': {
    scope: 'history',
    send: (api, { id, after }) =>
      api.GET('/conversations/{id}/messages', { params: { path: { id }, query: { after } } }),
  },
  'GET /conversations/:id/messages/:messageId/replies': {
    scope: 'history',
    send: (api, { id, messageId, after }) =>
      api.GET('/conversations/{id}/messages/{messageId}/replies', {
        params: { path: { id, messageId }, query: { after } },
      }),
  },
  'POST /conversations/:id/messages': {
    scope: 'member',
    body: true,
    send: (api, { id }) =>
      api.POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text: 'hi' },
      }),
  },
  'PATCH /conversations/:id/messages/:messageId': {
    scope: 'member',
    body: true,
    send: (api, { id, messageId }) =>
      api.PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId } },
        body: { text: 'edit' },
      }),
  },
  'DELETE /conversations/:id/messages/:messageId': {
    scope: 'member',
    send: (api, { id, messageId }) =>
      api.DELETE('/conversations/{id}/messages/{messageId}', { params: { path: { id, messageId } } }),
  },
  'PUT /conversations/:id/messages/:messageId/reactions/:emoji': {
    scope: 'member',
    send: (api, { id, messageId, emoji }) =>
      api.PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id, messageId, emoji } },
      }),
  },
  'DELETE /conversations/:id/messages/:messageId/reactions/:emoji': {
    scope: 'member',
    send: (api, { id, messageId, emoji }) =>
      api.DELETE('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id, messageId, emoji } },
      }),
  },
  'DELETE /conversations/:id/members/:userId': {
    scope: 'admin',
    send: (api, { id, userId }) =>
      api.DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId } } }),
  },
  'PUT /conversations/:id/members/:userId/role': {
    scope: 'owner',
    body: true,
    send: (api, { id, userId }) =>
      api.PUT('/conversations/{id}/members/{userId}/role', {
        params: { path: { id, userId } },
        body: { role: 'admin' },
      }),
  },
  'PUT /conversations/:id/mute': {
    scope: 'member',
    body: true,
    send: (api, { id }) => api.PUT('/conversations/{id}/mute', { params: { path: { id } }, body: { muted: true } }),
  },
  'POST /conversations/:id/invitations': {
    scope: 'admin',
    body: true,
    send: (api, { id, ids }) =>
      api.POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId: ids.guest } }),
  },
  'DELETE /conversations/:id/invitations/:userId': {
    scope: 'admin',
    send: (api, { id, ids }) =>
      api.DELETE('/conversations/{id}/invitations/{userId}', { params: { path: { id, userId: ids.guest } } }),
  },
  'POST /conversations/:id/invitations/accept': {
    scope: 'signed-in',
    send: (api, { id }) => api.POST('/conversations/{id}/invitations/accept', { params: { path: { id } } }),
  },
  'POST /conversations/:id/leave': {
    scope: 'member',
    send: (api, { id }) => api.POST('/conversations/{id}/leave', { params: { path: { id } } }),
  },
  'POST /conversations/:id/links': {
    scope: 'admin',
    send: (api, { id }) => api.POST('/conversations/{id}/links', { params: { path: { id } } }),
  },
  'DELETE /conversations/:id/links/:linkId': {
    scope: 'admin',
    send: (api, { id, linkId }) =>
      api.DELETE('/conversations/{id}/links/{linkId}', { params: { path: { id, linkId } } }),
  },
  'POST /conversations/:id/join': {
    scope: 'signed-in',
    body: true,
    send: (api, { id }) =>
      api.POST('/conversations/{id}/join', { params: { path: { id } }, body: { token: 'x'.repeat(43) } }),
  },
  'POST /conversations/:id/owner': {
    scope: 'owner',
    body: true,
    send: (api, { id, ids }) =>
      api.POST('/conversations/{id}/owner', { params: { path: { id } }, body: { userId: ids.member } }),
  },
  'POST /conversations/:id/read': {
    scope: 'member',
    body: true,
    send: (api, { id }) => api.POST('/conversations/{id}/read', { params: { path: { id } }, body: { upToSeq: 0 } }),
  },
  'POST /conversations/:id/delivered': {
    scope: 'member',
    body: true,
    send: (api, { id }) =>
      api.POST('/conversations/{id}/delivered', { params: { path: { id } }, body: { upToSeq: 0 } }),
  },
  'GET /conversations/:id/receipts': {
    scope: 'member',
    send: (api, { id, after }) =>
      api.GET('/conversations/{id}/receipts', { params: { path: { id }, query: { after } } }),
  },
  // Moderation (ADR 020): who may do what, role by role, is the matrix below.
  'PUT /conversations/:id/members/:userId/silence': {
    scope: 'admin',
    body: true,
    send: (api, { id, userId }) =>
      api.PUT('/conversations/{id}/members/{userId}/silence', {
        params: { path: { id, userId } },
        body: { durationSeconds: 60 },
      }),
  },
  'DELETE /conversations/:id/members/:userId/silence': {
    scope: 'admin',
    send: (api, { id, userId }) =>
      api.DELETE('/conversations/{id}/members/{userId}/silence', { params: { path: { id, userId } } }),
  },
  'GET /conversations/:id/bans': {
    scope: 'admin',
    send: (api, { id, after }) => api.GET('/conversations/{id}/bans', { params: { path: { id }, query: { after } } }),
  },
  'PUT /conversations/:id/bans/:userId': {
    scope: 'admin',
    send: (api, { id, userId }) => api.PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId } } }),
  },
  'DELETE /conversations/:id/bans/:userId': {
    scope: 'admin',
    send: (api, { id, userId }) =>
      api.DELETE('/conversations/{id}/bans/{userId}', { params: { path: { id, userId } } }),
  },
  'GET /conversations/:id/pins': {
    scope: 'history',
    send: (api, { id, after }) => api.GET('/conversations/{id}/pins', { params: { path: { id }, query: { after } } }),
  },
  'PUT /conversations/:id/pins/:messageId': {
    scope: 'admin',
    send: (api, { id, messageId }) =>
      api.PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId } } }),
  },
  'DELETE /conversations/:id/pins/:messageId': {
    scope: 'admin',
    send: (api, { id, messageId }) =>
      api.DELETE('/conversations/{id}/pins/{messageId}', { params: { path: { id, messageId } } }),
  },
};

interface Ids {
  owner: string;
  member: string;
  /** Someone in no conversation yet. */
  guest: string;
}

/**
 * Every frame a client may send over the WebSocket, what it names (a conversation, or
 * users), and such a frame naming `id`.
 */
const WS_MATRIX: Record<
  ClientFrameType,
  { names: 'conversation' | 'users' | 'token' | 'self'; frame: (id: string) => object }
> = {
  sync: { names: 'conversation', frame: (id) => ({ type: 'sync', conversations: { [id]: -1 } }) },
  typing: { names: 'conversation', frame: (id) => ({ type: 'typing', conversationId: id }) },
  presence: { names: 'users', frame: (id) => ({ type: 'presence', userIds: [id] }) },
  auth: { names: 'token', frame: (token) => ({ type: 'auth', accessToken: token }) },
  // Names nobody: the caller's own channel.
  syncUser: { names: 'self', frame: () => ({ type: 'syncUser', seq: -1 }) },
};

let app: NestFastifyApplication;
let base: string;
beforeAll(async () => {
  app = await testApp();
  base = await listen(app);
});
afterAll(async () => {
  await app.close();
});

const user = (name: string): Promise<TestUser> => signUp(app, name);

describe('authorization matrix', () => {
  it('every served route is in the matrix, and the matrix names no route that is gone', () => {
    expect(servedRoutes(app)).toEqual(Object.keys(MATRIX).sort());
  });

  it('anonymous, outsider, departed and kicked members and non-admin get what their role allows, on every route', async () => {
    const [owner, member, left, kicked, outsider] = await Promise.all([
      user('owner'),
      user('member'),
      user('left'),
      user('kicked'),
      user('outsider'),
    ]);
    const group = (
      await apiOf(app, owner).POST('/conversations/groups', {
        body: { name: 'm', memberIds: [member.userId, left.userId, kicked.userId] },
      })
    ).data!.conversationId;
    const sent = (
      await apiOf(app, owner).POST('/conversations/{id}/messages', {
        params: { path: { id: group } },
        body: { clientMessageId: 'x', text: 'hi' },
      })
    ).data!;
    await apiOf(app, left).POST('/conversations/{id}/leave', { params: { path: { id: group } } });
    const leaving = (
      await apiOf(app, owner).DELETE('/conversations/{id}/members/{userId}', {
        params: { path: { id: group, userId: kicked.userId } },
      })
    ).data!;
    const ids: Ids = { owner: owner.userId, member: member.userId, guest: outsider.userId };

    const problems: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      if (entry.scope === 'public') continue;
      const { scope, send } = entry;
      const request = async (who: TestUser | undefined, conversationId = group) => {
        const { data, error, response } = await send(apiOf(app, who), {
          id: conversationId,
          messageId: sent.messageId,
          emoji: 'x',
          linkId: 'f'.repeat(64),
          userId: owner.userId,
          // Reads of a conversation wait until the read models include the departure.
          after: leaving.checkpoint!,
          ids,
        });
        return { status: response.status, body: JSON.stringify(error ?? data) };
      };
      const expectStatus = (who: string, got: { status: number }, allowed: number[]): void => {
        if (!allowed.includes(got.status))
          problems.push(`${route} as ${who}: ${got.status}, expected ${allowed.join(' or ')}`);
      };
      if (scope === 'auditor') {
        // Hidden: the anonymous and every user, members included, get the 404 of a missing route.
        for (const [who, as] of [
          ['anonymous', undefined],
          ['outsider', outsider],
          ['owner', owner],
        ] as const)
          expectStatus(who, await request(as), [404]);
        continue;
      }
      expectStatus('anonymous', await request(undefined), [401]);
      if (!route.includes(':id') || scope === 'signed-in') continue;
      // Outsiders: the same 404 for a real conversation and one that does not exist.
      const real = await request(outsider);
      const missing = await request(outsider, randomUUID());
      expectStatus('outsider', real, [404]);
      expectStatus('outsider (missing)', missing, [404]);
      if (real.body !== missing.body)
        problems.push(`${route}: the outsider can tell a real conversation from a missing one`);
      // Departed members read history up to their leaving, nothing else.
      expectStatus('departed member', await request(left), scope === 'history' ? [200] : [404]);
      expectStatus('kicked member', await request(kicked), scope === 'history' ? [200] : [404]);
      if (scope === 'admin' || scope === 'owner') expectStatus('non-admin member', await request(member), [403]);
    }
    expect(problems).toEqual([]);
  });

  it('the role a route allows succeeds on it: a member, or the owner where admins or the owner are needed', async () => {
    const problems: string[] = [];
    for (const [route, entry] of Object.entries(MATRIX)) {
      if (!route.includes(':id') || entry.scope === 'public' || entry.scope === 'signed-in') continue;
      // Auditors' routes: audit.e2e.spec.ts reads each as an auditor.
      if (entry.scope === 'auditor') continue;
      const { scope, send } = entry;
      // A group of its own for each route: what one route does (leave, kick, dissolve) changes no other's.
      const [owner, member, guest] = await Promise.all([user('owner'), user('member'), user('guest')]);
      const group = (
        await apiOf(app, owner).POST('/conversations/groups', { body: { name: 'ok', memberIds: [member.userId] } })
      ).data!.conversationId;
      // The member's own message: an author may edit and delete it.
      const sent = (
        await apiOf(app, member).POST('/conversations/{id}/messages', {
          params: { path: { id: group } },
          body: { clientMessageId: 'mine', text: 'hi' },
        })
      ).data!;
      await apiOf(app, member).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id: group, messageId: sent.messageId, emoji: 'x' } },
      });
      const link = (await apiOf(app, owner).POST('/conversations/{id}/links', { params: { path: { id: group } } }))
        .data!;
      const actor = scope === 'member' || scope === 'history' ? member : owner;
      const { data, error, response } = await send(apiOf(app, actor), {
        id: group,
        messageId: sent.messageId,
        emoji: 'x',
        linkId: link.linkId,
        userId: member.userId,
        after: link.checkpoint!,
        ids: { owner: owner.userId, member: member.userId, guest: guest.userId },
      });
      if (response.status >= 300)
        problems.push(`${route} as ${scope}: ${response.status} ${JSON.stringify(error ?? data)}`);
    }
    expect(problems).toEqual([]);
  });

  it('bad input on every route is a 4xx with the error body, never a 5xx: malformed JSON, wrong types, unknown and polluting keys, oversized bodies, bad ids and queries', async () => {
    const [owner, member] = await Promise.all([user('owner'), user('member')]);
    const group = (
      await apiOf(app, owner).POST('/conversations/groups', { body: { name: 'bad', memberIds: [member.userId] } })
    ).data!.conversationId;
    const bodies: string[] = [
      '{"text": ',
      '[]',
      'null',
      '7',
      '"text"',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"admin":true}}}',
      '{"unknownField":1}',
      JSON.stringify({ text: 'x'.repeat(1024 * 1024) }),
    ];
    const problems: string[] = [];
    const judge = (what: string, status: number, code: unknown, text: string): void => {
      // 401 would mean the input never reached validation (the session ended): a problem too.
      if (status < 400 || status >= 500 || status === 401 || typeof code !== 'string')
        problems.push(`${what}: ${status} ${text.slice(0, 120)}`);
    };
    // Raw requests on purpose: bodies, queries and ids the OpenAPI document forbids (malformed or
    // mistyped JSON, unknown keys and queries, ids that are no uuid), fuzzed over every route's path.
    const check = async (what: string, options: { method: string; url: string; payload?: string }) => {
      const response = await app.inject({
        method: options.method as 'GET',
        url: options.url,
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        ...(options.payload !== undefined ? { payload: options.payload } : {}),
      });
      const body = (() => {
        try {
          return response.json<{ error?: { code?: unknown; message?: unknown } }>();
        } catch {
          return undefined;
        }
      })();
      judge(what, response.statusCode, body?.error?.code, response.body);
    };
    // Routes that take a body get every bad body; queries every unknown parameter; a command
    // takes no query and ignores one (so signing out, dissolving or leaving are not tried).
    for (const [route, entry] of Object.entries(MATRIX)) {
      if (entry.scope === 'public') continue;
      const [method, path] = route.split(' ') as [string, string];
      const good = path
        .replace(':id', group)
        .replace(':messageId', randomUUID())
        .replace(':emoji', 'x')
        .replace(':linkId', 'f'.repeat(64))
        .replace(':userId', member.userId);
      if (entry.body) {
        for (const payload of bodies)
          await check(`${route} with ${payload.slice(0, 40)}`, { method, url: good, payload });
      }
      if (method === 'GET') await check(`${route}?bogus=1`, { method, url: `${good}?bogus=1` });
      if (method === 'GET') await check(`${route}?after=%00`, { method, url: `${good}?after=%00` });
      if (path.includes(':id')) {
        await check(`${route} with a bad id`, { method, url: path.replace(':id', 'not-a-uuid').replace(/:\w+/g, 'x') });
      }
    }
    // NUL fits JSON and zod (and the OpenAPI document), not PostgreSQL's text: stored, it would stop the read models.
    const api = apiOf(app, owner);
    const nul: [string, () => Promise<Answer & { error?: { error: { code: string } } }>][] = [
      [
        `POST /conversations/${group}/messages`,
        () =>
          api.POST('/conversations/{id}/messages', {
            params: { path: { id: group } },
            body: { clientMessageId: 'n1', text: 'a\u0000b' },
          }),
      ],
      [
        `POST /conversations/${group}/messages`,
        () =>
          api.POST('/conversations/{id}/messages', {
            params: { path: { id: group } },
            body: { clientMessageId: 'n\u00002', text: 'hi' },
          }),
      ],
      ['POST /conversations/groups', () => api.POST('/conversations/groups', { body: { name: 'a\u0000b' } })],
      ['PATCH /me', () => api.PATCH('/me', { body: { displayName: 'a\u0000b' } })],
      [
        `PATCH /conversations/${group}`,
        () => api.PATCH('/conversations/{id}', { params: { path: { id: group } }, body: { description: 'a\u0000b' } }),
      ],
      [
        `PUT /conversations/${group}/messages/.../reactions/%00`,
        () =>
          api.PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
            params: { path: { id: group, messageId: randomUUID(), emoji: '\u0000' } },
          }),
      ],
      ['GET /users?username=%00', () => api.GET('/users', { params: { query: { username: '\u0000' } } })],
    ];
    for (const [what, send] of nul) {
      const { data, error, response } = await send();
      judge(`NUL: ${what}`, response.status, error?.error.code, JSON.stringify(error ?? data) ?? '');
    }
    expect(problems).toEqual([]);
    expect((await apiOf(app).GET('/health')).response.status).toBe(200);
  });

  it('moderation, role by role: the owner, an admin, a member, a blocked member, a kicked and a banned former member, an outsider', async () => {
    type Actor = 'outsider' | 'kicked' | 'banned' | 'blocked' | 'member' | 'admin' | 'owner';
    // Least privilege first: what one actor's success changes (a join) changes nothing for the next.
    const ACTORS: readonly Actor[] = ['outsider', 'kicked', 'banned', 'blocked', 'member', 'admin', 'owner'];
    interface Group {
      id: string;
      messageId: string;
      token: string;
      users: Record<Actor | 'target', TestUser>;
    }
    /** Who may moderate whom: only admins and the owner; nobody the owner; a self-moderation is invalid. */
    const admins = (admin: number, owner = admin) =>
      ({ outsider: 404, kicked: 404, banned: 404, blocked: 403, member: 403, admin, owner }) as const;
    const rows: {
      what: string;
      before?: (g: Group) => Promise<unknown>;
      send: (api: Api, g: Group) => Promise<Answer>;
      expected: Record<Actor, number>;
    }[] = [
      {
        what: 'silence a member',
        send: (api, g) =>
          api.PUT('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id: g.id, userId: g.users.target.userId } },
            body: { durationSeconds: 60 },
          }),
        expected: admins(200),
      },
      {
        what: 'silence an admin',
        send: (api, g) =>
          api.PUT('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id: g.id, userId: g.users.admin.userId } },
            body: { durationSeconds: 60 },
          }),
        expected: admins(400, 200),
      },
      {
        what: 'silence the owner',
        send: (api, g) =>
          api.PUT('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id: g.id, userId: g.users.owner.userId } },
            body: { durationSeconds: 60 },
          }),
        expected: admins(403, 400),
      },
      {
        what: 'lift a silence',
        before: (g) =>
          apiOf(app, g.users.owner).PUT('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id: g.id, userId: g.users.target.userId } },
            body: { durationSeconds: 60 },
          }),
        send: (api, g) =>
          api.DELETE('/conversations/{id}/members/{userId}/silence', {
            params: { path: { id: g.id, userId: g.users.target.userId } },
          }),
        expected: admins(200),
      },
      {
        what: 'ban a member',
        send: (api, g) =>
          api.PUT('/conversations/{id}/bans/{userId}', {
            params: { path: { id: g.id, userId: g.users.target.userId } },
          }),
        expected: admins(200),
      },
      {
        what: 'ban the owner',
        send: (api, g) =>
          api.PUT('/conversations/{id}/bans/{userId}', {
            params: { path: { id: g.id, userId: g.users.owner.userId } },
          }),
        expected: admins(403, 400),
      },
      {
        what: 'unban',
        send: (api, g) =>
          api.DELETE('/conversations/{id}/bans/{userId}', {
            params: { path: { id: g.id, userId: g.users.banned.userId } },
          }),
        // The banned one unbanning themselves is an outsider: 404.
        expected: admins(200),
      },
      {
        what: 'list the bans',
        send: (api, g) => api.GET('/conversations/{id}/bans', { params: { path: { id: g.id } } }),
        expected: admins(200),
      },
      {
        what: 'pin a message',
        send: (api, g) =>
          api.PUT('/conversations/{id}/pins/{messageId}', { params: { path: { id: g.id, messageId: g.messageId } } }),
        expected: admins(200),
      },
      {
        what: 'unpin a message',
        before: (g) =>
          apiOf(app, g.users.owner).PUT('/conversations/{id}/pins/{messageId}', {
            params: { path: { id: g.id, messageId: g.messageId } },
          }),
        send: (api, g) =>
          api.DELETE('/conversations/{id}/pins/{messageId}', {
            params: { path: { id: g.id, messageId: g.messageId } },
          }),
        expected: admins(200),
      },
      {
        what: 'list the pins (history: the departed read them as at their leaving)',
        send: (api, g) => api.GET('/conversations/{id}/pins', { params: { path: { id: g.id } } }),
        expected: { outsider: 404, kicked: 200, banned: 200, blocked: 200, member: 200, admin: 200, owner: 200 },
      },
      {
        what: 'make the group announcement-only',
        send: (api, g) =>
          api.PATCH('/conversations/{id}', { params: { path: { id: g.id } }, body: { announcementOnly: true } }),
        expected: admins(200),
      },
      {
        what: 'send in an announcement-only group',
        before: (g) =>
          apiOf(app, g.users.owner).PATCH('/conversations/{id}', {
            params: { path: { id: g.id } },
            body: { announcementOnly: true },
          }),
        send: (api, g) =>
          api.POST('/conversations/{id}/messages', {
            params: { path: { id: g.id } },
            body: { clientMessageId: randomUUID(), text: 'news' },
          }),
        expected: admins(201),
      },
      {
        what: 'join by a link (a kicked member may, a banned one may not)',
        send: (api, g) =>
          api.POST('/conversations/{id}/join', { params: { path: { id: g.id } }, body: { token: g.token } }),
        expected: { outsider: 200, kicked: 200, banned: 403, blocked: 409, member: 409, admin: 409, owner: 409 },
      },
    ];

    const problems: string[] = [];
    for (const row of rows) {
      const [owner, admin, member, blocked, target, kicked, banned, outsider] = await Promise.all(
        ['owner', 'admin', 'member', 'blocked', 'target', 'kicked', 'banned', 'outsider'].map((n) => user(n)),
      );
      const users = { owner, admin, member, blocked, target, kicked, banned, outsider } as Group['users'];
      const api = apiOf(app, users.owner);
      const id = (
        await api.POST('/conversations/groups', {
          body: {
            name: 'moderated',
            memberIds: [admin, member, blocked, target, kicked, banned].map((u) => u!.userId),
          },
        })
      ).data!.conversationId;
      await api.PUT('/conversations/{id}/members/{userId}/role', {
        params: { path: { id, userId: users.admin.userId } },
        body: { role: 'admin' },
      });
      // Blocks do not reach groups: the member the owner blocked is a member as any other.
      await api.PUT('/blocks/{userId}', { params: { path: { userId: users.blocked.userId } } });
      const { messageId } = (
        await api.POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: 'm', text: 'pin me' },
        })
      ).data!;
      const { token } = (await api.POST('/conversations/{id}/links', { params: { path: { id } } })).data!;
      await api.DELETE('/conversations/{id}/members/{userId}', {
        params: { path: { id, userId: users.kicked.userId } },
      });
      await api.PUT('/conversations/{id}/bans/{userId}', { params: { path: { id, userId: users.banned.userId } } });
      const group: Group = { id, messageId, token, users };
      await row.before?.(group);
      const { checkpoint } = (
        await api.POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: 'set', text: 'set up' },
        })
      ).data!;
      // The reads' authorization comes from the read models: let them have the setup.
      await api.GET('/conversations/{id}', { params: { path: { id }, query: { after: checkpoint! } } });
      for (const actor of ACTORS) {
        const { response, error } = await row.send(apiOf(app, users[actor]), group);
        if (response.status !== row.expected[actor])
          problems.push(
            `${row.what} as ${actor}: ${response.status} ${JSON.stringify(error)}, expected ${row.expected[actor]}`,
          );
      }
    }
    expect(problems).toEqual([]);
  });

  it('a user blocked by another is answered as anyone when starting, writing to or asking them, and nothing is written', async () => {
    const [blocker, blocked] = await Promise.all([user('blocker'), user('blocked')]);
    const { conversationId: dm, checkpoint: started } = (
      await apiOf(app, blocker).POST('/conversations/direct', { body: { userId: blocked.userId } })
    ).data!;
    await apiOf(app, blocker).PUT('/blocks/{userId}', { params: { path: { userId: blocked.userId } } });
    const answers = [
      await apiOf(app, blocked).POST('/conversations/direct', { body: { userId: blocker.userId } }),
      await apiOf(app, blocked).POST('/conversations/{id}/messages', {
        params: { path: { id: dm } },
        body: { clientMessageId: 'b1', text: 'hello?' },
      }),
      await apiOf(app, blocked).POST('/contacts/{userId}', { params: { path: { userId: blocker.userId } } }),
    ];
    // Withheld, not refused: a refusal would reveal the block (docs/adr/007-blocks-reveal-nothing.md).
    expect(answers.map((r) => r.response.status)).toEqual([201, 201, 200]);
    // Read after the conversation's start: without ?after= the membership read model may not have it yet.
    const timeline = await apiOf(app, blocker).GET('/conversations/{id}/messages', {
      params: { path: { id: dm }, query: { after: started! } },
    });
    expect(timeline.data!.messages).toEqual([]);
    // The one who blocked may still write (the other just cannot answer).
    const theirs = await apiOf(app, blocker).POST('/conversations/{id}/messages', {
      params: { path: { id: dm } },
      body: { clientMessageId: 'b2', text: 'bye' },
    });
    expect(theirs.response.status).toBe(201);
  });
});

/**
 * Answered with CONVERSATION.NOT_FOUND naming PROBE_ID, always (nobody is subscribed to it):
 * frames are handled in order, so whatever answers what came before arrives first.
 */
const PROBE_ID = randomUUID();
const PROBE = { type: 'typing', conversationId: PROBE_ID };

/** The frames a socket receives in answer to `frame` (up to the probe sent after it). */
async function answer(socket: TestSocket, frame: object | string): Promise<Frame[]> {
  const from = socket.frames.length;
  socket.send(frame);
  socket.send(PROBE);
  const probed = (): number => socket.frames.findIndex((f, i) => i >= from && f.conversationId === PROBE_ID);
  await eventually(() => probed() >= 0);
  return socket.frames.slice(from, probed());
}

/** An answer with `id` written as `<id>`, to compare answers about different ids. */
const naming = (frames: Frame[], id: string): string => JSON.stringify(frames).replaceAll(id, '<id>');

describe('authorization matrix: WebSocket', () => {
  it('every client frame type is in the matrix, and the matrix names no type that is gone', () => {
    expect(Object.keys(WS_MATRIX).sort()).toEqual([...CLIENT_FRAME_TYPES].sort());
  });

  it('the anonymous cannot open a socket at all: the handshake answers 401, so no frame type reaches the server', async () => {
    const someone = await signUp(app, 'someone');
    expect(await handshake(`ws://${base}/ws`, {})).toBe(401);
    expect(await handshake(`ws://${base}/ws`, { authorization: 'Bearer not-a-token' })).toBe(401);
    expect(await handshake(`ws://${base}/ws?access_token=not-a-token`, {})).toBe(401);
    expect(await handshake(`ws://${base}/ws`, { authorization: `Bearer ${someone.token}` })).toBe(101);
    await apiOf(app, someone).POST('/auth/sign-out');
    await eventually(
      async () => (await handshake(`ws://${base}/ws`, { authorization: `Bearer ${someone.token}` })) === 401,
    );
  });

  it('outsiders, departed members and blocked users get what their role allows, for every frame type', async () => {
    const [owner, member, left, kicked, outsider, blocked] = await Promise.all([
      signUp(app, 'owner'),
      signUp(app, 'member'),
      signUp(app, 'left'),
      signUp(app, 'kicked'),
      signUp(app, 'outsider'),
      signUp(app, 'blocked'),
    ]);
    const newGroup = async (members: TestUser[]) =>
      (
        await apiOf(app, owner).POST('/conversations/groups', {
          body: { name: 'm', memberIds: members.map((m) => m.userId) },
        })
      ).data!.conversationId;
    const group = await newGroup([member, left, kicked, blocked]);
    const direct = (await apiOf(app, blocked).POST('/conversations/direct', { body: { userId: owner.userId } })).data!
      .conversationId;
    const sockets = Object.fromEntries(
      await Promise.all(
        Object.entries({ owner, member, left, kicked, outsider, blocked }).map(
          async ([name, who]) => [name, await openSocket(base, who.token)] as const,
        ),
      ),
    ) as Record<'owner' | 'member' | 'left' | 'kicked' | 'outsider' | 'blocked', TestSocket>;
    for (const name of ['owner', 'member', 'left', 'kicked', 'blocked'] as const) {
      const synced = await answer(sockets[name], WS_MATRIX.sync.frame(group));
      expect(synced.at(-1)).toMatchObject({ type: 'synced', conversationId: group });
    }
    for (const name of ['owner', 'blocked'] as const) await answer(sockets[name], WS_MATRIX.sync.frame(direct));

    // Departures and a block, then a message after them: the departed get their own removal, nothing after.
    await apiOf(app, left).POST('/conversations/{id}/leave', { params: { path: { id: group } } });
    await apiOf(app, owner).DELETE('/conversations/{id}/members/{userId}', {
      params: { path: { id: group, userId: kicked.userId } },
    });
    await apiOf(app, owner).PUT('/blocks/{userId}', { params: { path: { userId: blocked.userId } } });
    const last = (
      await apiOf(app, owner).POST('/conversations/{id}/messages', {
        params: { path: { id: group } },
        body: { clientMessageId: 'after', text: 'after' },
      })
    ).data!;
    await eventually(() => sockets.member.frames.some((f) => f.event?.data.text === 'after'));
    const lastEvent = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'event').at(-1)?.event;
    expect(lastEvent(sockets.left)).toMatchObject({ type: 'MemberLeft', data: { userId: left.userId } });
    expect(lastEvent(sockets.kicked)).toMatchObject({ type: 'MemberKicked', data: { userId: kicked.userId } });
    // Presence is decided from the read models: wait until they have the departures and the block.
    await apiOf(app, owner).GET('/conversations/{id}', {
      params: { path: { id: group }, query: { after: last.checkpoint! } },
    });
    await eventually(async () =>
      (await apiOf(app, owner).GET('/blocks')).data!.blocks.some((b) => b.userId === blocked.userId),
    );

    const problems: string[] = [];
    const same = (what: string, got: string, expected: string): void => {
      if (got !== expected) problems.push(`${what}: ${got}, expected ${expected}`);
    };
    for (const [type, { names, frame }] of Object.entries(WS_MATRIX)) {
      if (names === 'conversation') {
        // Outsiders and the departed: the same answer as for a conversation that does not exist.
        const missing = randomUUID();
        const refusal = naming(await answer(sockets.outsider, frame(missing)), missing);
        same(
          `${type} (missing conversation)`,
          refusal,
          JSON.stringify([
            {
              type: 'error',
              code: 'CONVERSATION.NOT_FOUND',
              conversationId: '<id>',
              message: 'No such conversation, or you are not a member',
            },
          ]),
        );
        for (const who of ['outsider', 'left', 'kicked'] as const)
          same(`${type} as ${who}`, naming(await answer(sockets[who], frame(group)), group), refusal);
        // Members are not refused.
        const allowed = await answer(sockets.member, frame(group));
        if (allowed.some((f) => f.type === 'error')) problems.push(`${type} as member: ${JSON.stringify(allowed)}`);
        // A blocked user's frames reach nothing of the one who blocked them (a typing
        // signal of theirs to a conversation of both is the marker that comes after).
        const marker = await newGroup([blocked]);
        await Promise.all([
          answer(sockets.owner, WS_MATRIX.sync.frame(marker)),
          answer(sockets.blocked, WS_MATRIX.sync.frame(marker)),
        ]);
        const from = sockets.owner.frames.length;
        await answer(sockets.blocked, frame(direct));
        sockets.blocked.send(WS_MATRIX.typing.frame(marker));
        await eventually(() =>
          sockets.owner.frames.some((f, i) => i >= from && f.type === 'typing' && f.conversationId === marker),
        );
        const reached = sockets.owner.frames.slice(from).filter((f) => f.conversationId === direct);
        if (reached.length > 0)
          problems.push(`${type} as a blocked user reached the blocker: ${JSON.stringify(reached)}`);
      } else if (names === 'self') {
        // Each follows their own channel only: the owner's read marker reaches the owner alone.
        for (const who of ['owner', 'member', 'left', 'kicked', 'outsider', 'blocked'] as const) {
          const got = await answer(sockets[who], frame(''));
          if (got.length !== 1 || got[0]?.type !== 'userSynced')
            problems.push(`${type} as ${who}: ${JSON.stringify(got)}`);
        }
        const from = Object.fromEntries(Object.entries(sockets).map(([name, socket]) => [name, socket.frames.length]));
        await apiOf(app, owner).POST('/conversations/{id}/read', {
          params: { path: { id: group } },
          body: { upToSeq: 1 },
        });
        await eventually(() => sockets.owner.frames.some((f, i) => i >= from.owner! && f.type === 'userEvent'));
        for (const who of ['member', 'left', 'kicked', 'outsider', 'blocked'] as const) {
          const reached = sockets[who].frames
            .slice(from[who])
            .filter((f) => f.type === 'userEvent' || f.type === 'notice');
          if (reached.length > 0)
            problems.push(`${type}: the owner's receipt reached ${who}: ${JSON.stringify(reached)}`);
        }
      } else if (names === 'token') {
        // A socket takes a fresh token of its own user only: another user's, or none valid, is refused.
        const refusal = JSON.stringify([
          {
            type: 'error',
            code: 'AUTH.INVALID_TOKEN',
            message: 'Send a valid access token of the user this socket is',
          },
        ]);
        same(
          `${type} with a token that is not one`,
          JSON.stringify(await answer(sockets.outsider, frame('x'))),
          refusal,
        );
        same(
          `${type} with another user's token`,
          JSON.stringify(await answer(sockets.outsider, frame(member.token))),
          refusal,
        );
        const allowed = await answer(sockets.member, frame(member.token));
        if (allowed.length !== 1 || allowed[0]?.type !== 'authenticated')
          problems.push(`${type} as member: ${JSON.stringify(allowed)}`);
      } else {
        // owner is online; to whoever may not see them they look like someone who does not exist.
        const nobody = randomUUID();
        const unknown = naming(await answer(sockets.outsider, frame(nobody)), nobody);
        same(
          `${type} (unknown user)`,
          unknown,
          JSON.stringify([{ type: 'presence', users: [{ userId: '<id>', online: false, lastSeenAt: null }] }]),
        );
        for (const who of ['outsider', 'left', 'kicked', 'blocked'] as const)
          same(`${type} as ${who}`, naming(await answer(sockets[who], frame(owner.userId)), owner.userId), unknown);
        same(
          `${type} as member`,
          JSON.stringify(await answer(sockets.member, frame(owner.userId))),
          JSON.stringify([{ type: 'presence', users: [{ userId: owner.userId, online: true, lastSeenAt: null }] }]),
        );
      }
    }
    expect(problems).toEqual([]);
    await Promise.all(Object.values(sockets).map(hangUp));
  });

  it('bad frames are answered PUSH.INVALID_FRAME, an oversized one closes the socket with 1009; the server stays up', async () => {
    const someone = await signUp(app, 'someone');
    const socket = await openSocket(base, someone.token);
    const invalid = [{ type: 'error', code: 'PUSH.INVALID_FRAME' }];
    const bad: (object | string)[] = ['not json', '[]', 'null', '{"type":"nope"}', '{"type":"sync","__proto__":{}}'];
    for (const [type, { names, frame }] of Object.entries(WS_MATRIX)) {
      // An auth frame with no token is a refused token (AUTH.INVALID_TOKEN), not a bad frame.
      if (type !== 'auth') bad.push({ type });
      bad.push({ ...frame(randomUUID()), extra: true });
      if (names !== 'token' && names !== 'self') bad.push(frame('not-a-uuid'));
    }
    // Keys that are not ids (JSON.parse makes "__proto__" an own key), and seqs that are not ones.
    const id = randomUUID();
    bad.push(
      '{"type":"sync","conversations":{"__proto__":1}}',
      `{"type":"sync","conversations":{"${id}":1,"__proto__":{"x":1}}}`,
      '{"type":"sync","conversations":{"constructor":1}}',
      '{"type":"sync","conversations":[]}',
      ...[-2, 1.5, 1e300, 2 ** 53, '1', null].map((seq) => ({ type: 'sync', conversations: { [id]: seq } })),
      ...[-2, 1.5, 2 ** 53, '1', null].map((seq) => ({ type: 'syncUser', seq })),
    );
    for (const frame of bad) expect(await answer(socket, frame), JSON.stringify(frame)).toMatchObject(invalid);
    const from = socket.frames.length;
    socket.ws.send(Buffer.from(JSON.stringify(WS_MATRIX.typing.frame(randomUUID()))), { binary: true });
    socket.send(PROBE);
    await eventually(() => socket.frames.some((f, i) => i >= from && f.conversationId === PROBE_ID));
    expect(socket.frames.slice(from, -1)).toMatchObject(invalid);
    socket.send('x'.repeat(MAX_PAYLOAD + 1));
    expect(await socket.closed).toBe(1009);
    const after = await openSocket(base, someone.token);
    expect(await answer(after, WS_MATRIX.presence.frame(someone.userId))).toMatchObject([
      { type: 'presence', users: [{ userId: someone.userId, online: true }] },
    ]);
    expect((await apiOf(app).GET('/health')).response.status).toBe(200);
    await hangUp(after);
  });
});

describe('the security log', () => {
  it('records every refusal (who, where, why) and never a token, password or message body', async () => {
    const lines: Record<string, unknown>[] = [];
    const recorded = await testApp(
      {},
      undefined,
      new JsonLogger('warn', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    );
    const address = await listen(recorded);
    try {
      const [owner, outsider] = await Promise.all([signUp(recorded, 'owner'), signUp(recorded, 'outsider')]);
      const group = (await apiOf(recorded, owner).POST('/conversations/groups', { body: { name: 'secret plans' } }))
        .data!.conversationId;
      const asOutsider = apiOf(recorded, outsider);
      const refused = [
        await asOutsider.GET('/conversations/{id}', { params: { path: { id: group } } }),
        await asOutsider.POST('/conversations/{id}/messages', {
          params: { path: { id: group } },
          body: { clientMessageId: 'c1', text: 'the body of a message' },
        }),
        await apiOf(recorded, { token: 'not-a-token' }).GET('/me'),
        await apiOf(recorded).POST('/auth/sign-in', {
          body: { username: 'nobody-by-this-name', password: 'a password typed' },
        }),
      ];
      expect(refused.map((r) => r.response.status)).toEqual([404, 404, 401, 401]);
      const socket = await openSocket(address, outsider.token);
      expect(await answer(socket, { type: 'sync', conversations: { [group]: 0 } })).toMatchObject([
        { type: 'error', code: 'CONVERSATION.NOT_FOUND' },
      ]);
      // Tokens an auth frame may not renew the socket with: another user's (valid), one of the
      // same user's signed-out session, and one that is no token. Each is a 401-class refusal.
      const username = `outsider-${randomUUID()}`.slice(0, 30);
      await apiOf(recorded).POST('/auth/register', { body: { username, password: 'password-1', displayName: 'o' } });
      const other = (await apiOf(recorded).POST('/auth/sign-in', { body: { username, password: 'password-1' } })).data!;
      const secondSocket = await openSocket(address, other.accessToken);
      const ended = (await apiOf(recorded).POST('/auth/sign-in', { body: { username, password: 'password-1' } })).data!
        .accessToken;
      await apiOf(recorded, { token: ended }).POST('/auth/sign-out');
      for (const accessToken of [owner.token, ended, 'not-a-token-either']) {
        expect(await answer(secondSocket, { type: 'auth', accessToken })).toMatchObject([
          { type: 'error', code: 'AUTH.INVALID_TOKEN' },
        ]);
      }
      await hangUp(secondSocket);
      // And a handshake with no valid token.
      expect(await handshake(`ws://${address}/ws`, { authorization: 'Bearer not-a-token-either' })).toBe(401);
      await hangUp(socket);

      // (answer() ends with a probe frame, itself refused.)
      const refusals = lines.filter((l) => String(l.msg).includes('refused') && l.conversationId !== PROBE_ID);
      expect(refusals).toMatchObject([
        { msg: 'authorization refused: CONVERSATION.NOT_FOUND', userId: outsider.userId, route: '/conversations/:id' },
        {
          msg: 'authorization refused: CONVERSATION.NOT_FOUND',
          userId: outsider.userId,
          route: '/conversations/:id/messages',
          method: 'POST',
          params: { id: group },
        },
        { msg: 'authentication refused: AUTH.INVALID_TOKEN', route: '/me' },
        { msg: 'authentication refused: AUTH.INVALID_CREDENTIALS', route: '/auth/sign-in' },
        { msg: 'authorization refused: CONVERSATION.NOT_FOUND', userId: outsider.userId, conversationId: group },
        { msg: 'authentication refused: AUTH.INVALID_TOKEN', userId: other.userId, route: '/ws' },
        { msg: 'authentication refused: AUTH.SESSION_REVOKED', userId: other.userId, route: '/ws' },
        { msg: 'authentication refused: AUTH.INVALID_TOKEN', userId: other.userId, route: '/ws' },
        { msg: 'authentication refused: AUTH.INVALID_TOKEN', route: '/ws' },
      ]);
      const everything = JSON.stringify(lines);
      for (const secret of [
        owner.token,
        outsider.token,
        other.accessToken,
        ended,
        'not-a-token',
        'a password typed',
        'the body of a message',
      ]) {
        expect(everything).not.toContain(secret);
      }
    } finally {
      await recorded.close();
    }
  });
});
