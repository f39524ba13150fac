/**
 * The authorization matrix: every route the API serves (read from the router, so a new
 * route without an entry here fails the test) against the anonymous, an outsider, a
 * member who left, and a member who is not an admin. Denials to conversations are the
 * same 404 whether the conversation exists or not.
 *
 * And the WebSocket: every frame type a client may send (read from the gateway's schema,
 * so a new type without an entry fails) against the anonymous, an outsider, members who
 * left or were kicked, a user blocked by the one they name, and bad frames.
 */
import { JsonLogger } from '@herald/nest';
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_FRAME_TYPES, type ClientFrameType } from './push/frames.js';
import { MAX_PAYLOAD } from './push/limits.js';
import { servedRoutes, signUp, testApp, type TestUser } from './test-app.js';
import { handshake, hangUp, listen, openSocket, type Frame, type TestSocket } from './test-socket.js';

type Scope = 'public' | 'signed-in' | 'member' | 'history' | 'admin' | 'owner';

/** Every route, its scope, and a body that would be valid for a member. */
const MATRIX: Record<string, { scope: Scope; body?: (ids: Ids) => object }> = {
  'GET /health': { scope: 'public' },
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
  'POST /auth/sign-out': { scope: 'signed-in' },
  'GET /me': { scope: 'signed-in' },
  'PATCH /me': { scope: 'signed-in', body: () => ({ statusText: 'hi' }) },
  'GET /users': { scope: 'signed-in' },
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
  'GET /conversations/:id/members': { scope: 'member' },
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
  'POST /conversations/:id/invitations': { scope: 'admin', body: (ids) => ({ userId: ids.guest }) },
  'POST /conversations/:id/invitations/accept': { scope: 'signed-in' },
  'POST /conversations/:id/leave': { scope: 'member' },
  'POST /conversations/:id/links': { scope: 'admin' },
  'DELETE /conversations/:id/links/:linkId': { scope: 'admin' },
  'POST /conversations/:id/join': { scope: 'signed-in', body: () => ({ token: 'x'.repeat(43) }) },
  'POST /conversations/:id/owner': { scope: 'owner', body: (ids) => ({ userId: ids.member }) },
  'POST /conversations/:id/read': { scope: 'member', body: () => ({ upToSeq: 0 }) },
  'POST /conversations/:id/delivered': { scope: 'member', body: () => ({ upToSeq: 0 }) },
  'GET /conversations/:id/receipts': { scope: 'member' },
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
const WS_MATRIX: Record<ClientFrameType, { names: 'conversation' | 'users' | 'token'; frame: (id: string) => object }> =
  {
    sync: { names: 'conversation', frame: (id) => ({ type: 'sync', conversations: { [id]: -1 } }) },
    typing: { names: 'conversation', frame: (id) => ({ type: 'typing', conversationId: id }) },
    presence: { names: 'users', frame: (id) => ({ type: 'presence', userIds: [id] }) },
    auth: { names: 'token', frame: (token) => ({ type: 'auth', accessToken: token }) },
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
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const group = (
      await app.inject({
        method: 'POST',
        url: '/conversations/groups',
        headers: auth(owner.token),
        payload: { name: 'm', memberIds: [member.userId, left.userId, kicked.userId] },
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
    await app.inject({ method: 'POST', url: `/conversations/${group}/leave`, headers: auth(left.token) });
    const leaving = (
      await app.inject({
        method: 'DELETE',
        url: `/conversations/${group}/members/${kicked.userId}`,
        headers: auth(owner.token),
      })
    ).json<{ checkpoint: string }>();
    const ids: Ids = { owner: owner.userId, member: member.userId, guest: outsider.userId };
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
      expectStatus('kicked member', await request(kicked.token), scope === 'history' ? [200] : [404]);
      if (scope === 'admin' || scope === 'owner') expectStatus('non-admin member', await request(member.token), [403]);
    }
    expect(problems).toEqual([]);
  });

  it('the role a route allows succeeds on it: a member, or the owner where admins or the owner are needed', async () => {
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    const problems: string[] = [];
    for (const [route, { scope, body }] of Object.entries(MATRIX)) {
      if (!route.includes(':id') || scope === 'public' || scope === 'signed-in') continue;
      // A group of its own for each route: what one route does (leave, kick, dissolve) changes no other's.
      const [owner, member, guest] = await Promise.all([user('owner'), user('member'), user('guest')]);
      const group = (
        await app.inject({
          method: 'POST',
          url: '/conversations/groups',
          headers: auth(owner.token),
          payload: { name: 'ok', memberIds: [member.userId] },
        })
      ).json<{ conversationId: string }>().conversationId;
      // The member's own message: an author may edit and delete it.
      const sent = (
        await app.inject({
          method: 'POST',
          url: `/conversations/${group}/messages`,
          headers: auth(member.token),
          payload: { clientMessageId: 'mine', text: 'hi' },
        })
      ).json<{ messageId: string }>();
      await app.inject({
        method: 'PUT',
        url: `/conversations/${group}/messages/${sent.messageId}/reactions/x`,
        headers: auth(member.token),
      });
      const link = (
        await app.inject({ method: 'POST', url: `/conversations/${group}/links`, headers: auth(owner.token) })
      ).json<{ linkId: string; checkpoint: string }>();
      const actor = scope === 'member' || scope === 'history' ? member : owner;
      const target = route
        .split(' ')[1]!
        .replace(':id', group)
        .replace(':messageId', sent.messageId)
        .replace(':emoji', 'x')
        .replace(':linkId', link.linkId)
        .replace(':userId', member.userId);
      const method = route.split(' ')[0] as 'GET';
      const response = await app.inject({
        method,
        url: method === 'GET' ? `${target}?after=${link.checkpoint}` : target,
        headers: auth(actor.token),
        ...(body ? { payload: body({ owner: owner.userId, member: member.userId, guest: guest.userId }) } : {}),
      });
      if (response.statusCode >= 300) problems.push(`${route} as ${scope}: ${response.statusCode} ${response.body}`);
    }
    expect(problems).toEqual([]);
  });

  it('bad input on every route is a 4xx with the error body, never a 5xx: malformed JSON, wrong types, unknown and polluting keys, oversized bodies, bad ids and queries', async () => {
    const [owner, member] = await Promise.all([user('owner'), user('member')]);
    const group = (
      await app.inject({
        method: 'POST',
        url: '/conversations/groups',
        headers: { authorization: `Bearer ${owner.token}` },
        payload: { name: 'bad', memberIds: [member.userId] },
      })
    ).json<{ conversationId: string }>().conversationId;
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
      // 401 would mean the input never reached validation (the session ended): a problem too.
      const { statusCode } = response;
      if (statusCode < 400 || statusCode >= 500 || statusCode === 401 || typeof body?.error?.code !== 'string')
        problems.push(`${what}: ${statusCode} ${response.body.slice(0, 120)}`);
    };
    // Routes that take a body get every bad body; queries every unknown parameter; a command
    // takes no query and ignores one (so signing out, dissolving or leaving are not tried).
    for (const [route, { scope, body }] of Object.entries(MATRIX)) {
      if (scope === 'public') continue;
      const [method, path] = route.split(' ') as [string, string];
      const good = path
        .replace(':id', group)
        .replace(':messageId', randomUUID())
        .replace(':emoji', 'x')
        .replace(':linkId', 'f'.repeat(64))
        .replace(':userId', member.userId);
      if (body) {
        for (const payload of bodies)
          await check(`${route} with ${payload.slice(0, 40)}`, { method, url: good, payload });
      }
      if (method === 'GET') await check(`${route}?bogus=1`, { method, url: `${good}?bogus=1` });
      if (method === 'GET') await check(`${route}?after=%00`, { method, url: `${good}?after=%00` });
      if (path.includes(':id')) {
        await check(`${route} with a bad id`, { method, url: path.replace(':id', 'not-a-uuid').replace(/:\w+/g, 'x') });
      }
    }
    // NUL fits JSON and zod, not PostgreSQL's text: stored, it would stop the read models.
    const nul: [string, string, object | undefined][] = [
      ['POST', `/conversations/${group}/messages`, { clientMessageId: 'n1', text: 'a\u0000b' }],
      ['POST', `/conversations/${group}/messages`, { clientMessageId: 'n\u00002', text: 'hi' }],
      ['POST', '/conversations/groups', { name: 'a\u0000b' }],
      ['PATCH', '/me', { displayName: 'a\u0000b' }],
      ['PATCH', `/conversations/${group}`, { description: 'a\u0000b' }],
      ['PUT', `/conversations/${group}/messages/${randomUUID()}/reactions/%00`, undefined],
      ['GET', '/users?username=%00', undefined],
    ];
    for (const [method, url, payload] of nul) {
      await check(`NUL: ${method} ${url}`, {
        method,
        url,
        ...(payload ? { payload: JSON.stringify(payload) } : {}),
      });
    }
    expect(problems).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('a user blocked by another is answered as anyone when starting, writing to or asking them, and nothing is written', async () => {
    const [blocker, blocked] = await Promise.all([user('blocker'), user('blocked')]);
    const as = (who: TestUser) => ({ authorization: `Bearer ${who.token}` });
    const { conversationId: dm, checkpoint: started } = (
      await app.inject({
        method: 'POST',
        url: '/conversations/direct',
        headers: as(blocker),
        payload: { userId: blocked.userId },
      })
    ).json<{ conversationId: string; checkpoint: string }>();
    await app.inject({ method: 'PUT', url: `/blocks/${blocked.userId}`, headers: as(blocker) });
    const answers = [
      await app.inject({
        method: 'POST',
        url: '/conversations/direct',
        headers: as(blocked),
        payload: { userId: blocker.userId },
      }),
      await app.inject({
        method: 'POST',
        url: `/conversations/${dm}/messages`,
        headers: as(blocked),
        payload: { clientMessageId: 'b1', text: 'hello?' },
      }),
      await app.inject({ method: 'POST', url: `/contacts/${blocker.userId}`, headers: as(blocked) }),
    ];
    // Withheld, not refused: a refusal would reveal the block (docs/adr/007-blocks-reveal-nothing.md).
    expect(answers.map((r) => r.statusCode)).toEqual([201, 201, 200]);
    // Read after the conversation's start: without ?after= the membership read model may not have it yet.
    const timeline = await app.inject({
      method: 'GET',
      url: `/conversations/${dm}/messages?after=${encodeURIComponent(started)}`,
      headers: as(blocker),
    });
    expect(timeline.json<{ messages: unknown[] }>().messages).toEqual([]);
    // The one who blocked may still write (the other just cannot answer).
    const theirs = await app.inject({
      method: 'POST',
      url: `/conversations/${dm}/messages`,
      headers: as(blocker),
      payload: { clientMessageId: 'b2', text: 'bye' },
    });
    expect(theirs.statusCode).toBe(201);
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
    await app.inject({ method: 'POST', url: '/auth/sign-out', headers: { authorization: `Bearer ${someone.token}` } });
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
    const post = async (who: TestUser, url: string, payload?: object) =>
      (
        await app.inject({
          method: 'POST',
          url,
          headers: { authorization: `Bearer ${who.token}` },
          ...(payload ? { payload } : {}),
        })
      ).json<{ conversationId: string; checkpoint: string }>();
    const newGroup = async (members: TestUser[]) =>
      (await post(owner, '/conversations/groups', { name: 'm', memberIds: members.map((m) => m.userId) }))
        .conversationId;
    const group = await newGroup([member, left, kicked, blocked]);
    const direct = (await post(blocked, '/conversations/direct', { userId: owner.userId })).conversationId;
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
    await post(left, `/conversations/${group}/leave`);
    await app.inject({
      method: 'DELETE',
      url: `/conversations/${group}/members/${kicked.userId}`,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    await app.inject({
      method: 'PUT',
      url: `/blocks/${blocked.userId}`,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    const last = await post(owner, `/conversations/${group}/messages`, { clientMessageId: 'after', text: 'after' });
    await eventually(() => sockets.member.frames.some((f) => f.event?.data.text === 'after'));
    const lastEvent = (socket: TestSocket) => socket.frames.filter((f) => f.type === 'event').at(-1)?.event;
    expect(lastEvent(sockets.left)).toMatchObject({ type: 'MemberLeft', data: { userId: left.userId } });
    expect(lastEvent(sockets.kicked)).toMatchObject({ type: 'MemberKicked', data: { userId: kicked.userId } });
    // Presence is decided from the read models: wait until they have the departures and the block.
    await app.inject({
      method: 'GET',
      url: `/conversations/${group}?after=${last.checkpoint}`,
      headers: { authorization: `Bearer ${owner.token}` },
    });
    await eventually(async () =>
      (await app.inject({ method: 'GET', url: '/blocks', headers: { authorization: `Bearer ${owner.token}` } }))
        .json<{ blocks: { userId: string }[] }>()
        .blocks.some((b) => b.userId === blocked.userId),
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
      if (names !== 'token') bad.push(frame('not-a-uuid'));
    }
    // Keys that are not ids (JSON.parse makes "__proto__" an own key), and seqs that are not ones.
    const id = randomUUID();
    bad.push(
      '{"type":"sync","conversations":{"__proto__":1}}',
      `{"type":"sync","conversations":{"${id}":1,"__proto__":{"x":1}}}`,
      '{"type":"sync","conversations":{"constructor":1}}',
      '{"type":"sync","conversations":[]}',
      ...[-2, 1.5, 1e300, 2 ** 53, '1', null].map((seq) => ({ type: 'sync', conversations: { [id]: seq } })),
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
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
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
      const group = (
        await recorded.inject({
          method: 'POST',
          url: '/conversations/groups',
          headers: { authorization: `Bearer ${owner.token}` },
          payload: { name: 'secret plans' },
        })
      ).json<{ conversationId: string }>().conversationId;
      const asOutsider = { authorization: `Bearer ${outsider.token}` };
      const refused = [
        await recorded.inject({ method: 'GET', url: `/conversations/${group}`, headers: asOutsider }),
        await recorded.inject({
          method: 'POST',
          url: `/conversations/${group}/messages`,
          headers: asOutsider,
          payload: { clientMessageId: 'c1', text: 'the body of a message' },
        }),
        await recorded.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer not-a-token' } }),
        await recorded.inject({
          method: 'POST',
          url: '/auth/sign-in',
          payload: { username: 'nobody-by-this-name', password: 'a password typed' },
        }),
      ];
      expect(refused.map((r) => r.statusCode)).toEqual([404, 404, 401, 401]);
      const socket = await openSocket(address, outsider.token);
      expect(await answer(socket, { type: 'sync', conversations: { [group]: 0 } })).toMatchObject([
        { type: 'error', code: 'CONVERSATION.NOT_FOUND' },
      ]);
      // Tokens an auth frame may not renew the socket with: another user's (valid), one of the
      // same user's signed-out session, and one that is no token. Each is a 401-class refusal.
      const username = `outsider-${randomUUID()}`.slice(0, 30);
      await recorded.inject({
        method: 'POST',
        url: '/auth/register',
        payload: { username, password: 'password-1', displayName: 'o' },
      });
      const other = (
        await recorded.inject({ method: 'POST', url: '/auth/sign-in', payload: { username, password: 'password-1' } })
      ).json<{ accessToken: string; userId: string }>();
      const secondSocket = await openSocket(address, other.accessToken);
      const ended = (
        await recorded.inject({ method: 'POST', url: '/auth/sign-in', payload: { username, password: 'password-1' } })
      ).json<{ accessToken: string }>().accessToken;
      await recorded.inject({ method: 'POST', url: '/auth/sign-out', headers: { authorization: `Bearer ${ended}` } });
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
