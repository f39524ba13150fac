/**
 * The authorization matrix: every route the API serves (read from the router, so a new
 * route without an entry here fails the test) against the anonymous, an outsider, a
 * member who left, and a member who is not an admin. Denials to conversations are the
 * same 404 whether the conversation exists or not.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from './test-app.js';

type Scope = 'public' | 'signed-in' | 'member' | 'history' | 'admin' | 'owner';

/** Every route, its scope, and a body that would be valid for a member. */
const MATRIX: Record<string, { scope: Scope; body?: (ids: Ids) => object }> = {
  'GET /health': { scope: 'public' },
  // The OpenAPI document and Swagger UI's files.
  'GET /docs': { scope: 'public' },
  'GET /docs/': { scope: 'public' },
  'GET /docs/LICENSE': { scope: 'public' },
  'GET /docs/docs/swagger-ui-init.js': { scope: 'public' },
  'GET /docs/index.html': { scope: 'public' },
  'GET /docs/json': { scope: 'public' },
  'GET /docs/swagger-ui-init.js': { scope: 'public' },
  'GET /docs/yaml': { scope: 'public' },
  'POST /auth/register': { scope: 'public' },
  'POST /auth/refresh': { scope: 'public' },
  'POST /auth/sign-in': { scope: 'public' },
  'POST /auth/sign-out': { scope: 'signed-in' },
  'GET /me': { scope: 'signed-in' },
  'PATCH /me': { scope: 'signed-in', body: () => ({ statusText: 'hi' }) },
  'GET /users/:userId': { scope: 'signed-in' },
  'GET /contacts': { scope: 'signed-in' },
  'POST /contacts/:userId': { scope: 'signed-in' },
  'DELETE /contacts/:userId': { scope: 'signed-in' },
  'POST /contacts/:userId/accept': { scope: 'signed-in' },
  'POST /contacts/:userId/decline': { scope: 'signed-in' },
  'GET /blocks': { scope: 'signed-in' },
  'PUT /blocks/:userId': { scope: 'signed-in' },
  'DELETE /blocks/:userId': { scope: 'signed-in' },
  'GET /conversations': { scope: 'signed-in' },
  'POST /conversations/direct': { scope: 'signed-in', body: (ids) => ({ userId: ids.owner }) },
  'POST /conversations/groups': { scope: 'signed-in', body: () => ({ name: 'g' }) },
  'GET /conversations/:id': { scope: 'member' },
  'PATCH /conversations/:id': { scope: 'admin', body: () => ({ name: 'renamed' }) },
  'DELETE /conversations/:id': { scope: 'owner' },
  'GET /conversations/:id/messages': { scope: 'history' },
  'POST /conversations/:id/messages': { scope: 'member', body: () => ({ clientMessageId: randomUUID(), text: 'hi' }) },
  'PATCH /conversations/:id/messages/:messageId': { scope: 'member', body: () => ({ text: 'edit' }) },
  'DELETE /conversations/:id/messages/:messageId': { scope: 'member' },
  'PUT /conversations/:id/messages/:messageId/reactions/:emoji': { scope: 'member' },
  'DELETE /conversations/:id/messages/:messageId/reactions/:emoji': { scope: 'member' },
  'DELETE /conversations/:id/members/:userId': { scope: 'admin' },
  'PUT /conversations/:id/members/:userId/role': { scope: 'owner', body: () => ({ role: 'admin' }) },
  'PUT /conversations/:id/mute': { scope: 'member', body: () => ({ muted: true }) },
  'POST /conversations/:id/invitations': { scope: 'member', body: () => ({ userId: randomUUID() }) },
  'POST /conversations/:id/invitations/accept': { scope: 'signed-in' },
  'POST /conversations/:id/leave': { scope: 'member' },
  'POST /conversations/:id/links': { scope: 'admin' },
  'DELETE /conversations/:id/links/:linkId': { scope: 'admin' },
  'POST /conversations/:id/join': { scope: 'signed-in', body: () => ({ token: 'x'.repeat(43) }) },
  'POST /conversations/:id/owner': { scope: 'owner', body: (ids) => ({ userId: ids.member }) },
  'POST /conversations/:id/read': { scope: 'member', body: () => ({ upToSeq: 0 }) },
  'POST /conversations/:id/delivered': { scope: 'member', body: () => ({ upToSeq: 0 }) },
};

interface Ids {
  owner: string;
  member: string;
}

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
});
afterAll(async () => {
  await app.close();
});

/** `METHOD /path` of every route, read from Fastify's route tree (HEAD and OPTIONS aside). */
function servedRoutes(): string[] {
  const tree = (app.getHttpAdapter().getInstance() as { printRoutes(o: object): string }).printRoutes({
    commonPrefix: false,
  });
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD' && m !== 'OPTIONS')) {
      routes.push(`${method} ${stack.join('')}`);
    }
  }
  return routes.sort();
}

const user = (name: string): Promise<TestUser> => signUp(app, name);

describe('authorization matrix', () => {
  it('every served route is in the matrix, and the matrix names no route that is gone', () => {
    expect(servedRoutes()).toEqual(Object.keys(MATRIX).sort());
  });

  it('anonymous, outsider, departed member and non-admin get what their role allows, on every route', async () => {
    const [owner, member, left, outsider] = await Promise.all([
      user('owner'),
      user('member'),
      user('left'),
      user('outsider'),
    ]);
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const group = (
      await app.inject({
        method: 'POST',
        url: '/conversations/groups',
        headers: auth(owner.token),
        payload: { name: 'm', memberIds: [member.userId, left.userId] },
      })
    ).json<{ conversationId: string }>().conversationId;
    const sent = (
      await app.inject({
        method: 'POST',
        url: `/conversations/${group}/messages`,
        headers: auth(owner.token),
        payload: { clientMessageId: 'x', text: 'hi' },
      })
    ).json<{ messageId: string }>();
    const leaving = (
      await app.inject({ method: 'POST', url: `/conversations/${group}/leave`, headers: auth(left.token) })
    ).json<{
      checkpoint: string;
    }>();
    const ids: Ids = { owner: owner.userId, member: member.userId };
    const url = (route: string, conversationId: string): string =>
      route
        .split(' ')[1]!
        .replace(':id', conversationId)
        .replace(':messageId', sent.messageId)
        .replace(':emoji', 'x')
        .replace(':linkId', 'f'.repeat(64))
        .replace(':userId', owner.userId);

    const problems: string[] = [];
    for (const [route, { scope, body }] of Object.entries(MATRIX)) {
      if (scope === 'public') continue;
      const method = route.split(' ')[0] as 'GET';
      const request = async (token: string | undefined, conversationId = group) => {
        const target = url(route, conversationId);
        const response = await app.inject({
          method,
          // Reads of a conversation wait until the read models include the departure.
          url: method === 'GET' && route.includes(':id') ? `${target}?after=${leaving.checkpoint}` : target,
          headers: token ? auth(token) : {},
          ...(body ? { payload: body(ids) } : {}),
        });
        return { status: response.statusCode, body: response.body };
      };
      const expectStatus = (who: string, got: { status: number }, allowed: number[]): void => {
        if (!allowed.includes(got.status))
          problems.push(`${route} as ${who}: ${got.status}, expected ${allowed.join(' or ')}`);
      };
      expectStatus('anonymous', await request(undefined), [401]);
      if (!route.includes(':id') || scope === 'signed-in') continue;
      // Outsiders: the same 404 for a real conversation and one that does not exist.
      const real = await request(outsider.token);
      const missing = await request(outsider.token, randomUUID());
      expectStatus('outsider', real, [404]);
      expectStatus('outsider (missing)', missing, [404]);
      if (real.body !== missing.body)
        problems.push(`${route}: the outsider can tell a real conversation from a missing one`);
      // Departed members read history up to their leaving, nothing else.
      expectStatus('departed member', await request(left.token), scope === 'history' ? [200] : [404]);
      if (scope === 'admin' || scope === 'owner') expectStatus('non-admin member', await request(member.token), [403]);
    }
    expect(problems).toEqual([]);
  });
});
