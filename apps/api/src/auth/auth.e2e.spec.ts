import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { eventually, TEST_JWT_SECRET, testDatabaseUrl, uniqueId } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../bootstrap.js';
import { apiOf } from '../test-client.js';

let app: NestFastifyApplication;

beforeAll(async () => {
  app = await createApp({
    config: loadConfig({
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '10000',
      RATE_LIMIT_USER_PER_SECOND: '10000',
      RATE_LIMIT_IP_PER_SECOND: '10000',
    }),
    databaseUrl: testDatabaseUrl(),
    logger: new JsonLogger('fatal'),
    jwtSecret: TEST_JWT_SECRET,
  });
});
afterAll(async () => {
  await app.close();
});

/** The client as the holder of an access token. */
const holding = (token: string) => apiOf(app, { token });

describe('auth over HTTP', () => {
  it('register, me, profile, refresh (rotating), sign out', async () => {
    const username = uniqueId('grace').toLowerCase();
    const registered = await apiOf(app).POST('/auth/register', {
      body: { username, password: 'hopper-1906', displayName: 'Grace' },
    });
    expect(registered.response.status).toBe(201);
    const tokens = registered.data!;
    const me = await holding(tokens.accessToken).GET('/me');
    expect(me.data).toEqual({
      userId: tokens.userId,
      username,
      displayName: 'Grace',
      avatarUrl: null,
      statusText: null,
    });
    const patched = await holding(tokens.accessToken).PATCH('/me', {
      body: { statusText: 'compiling', avatarUrl: 'https://example.com/g.png' },
    });
    expect(patched.data).toMatchObject({ statusText: 'compiling', avatarUrl: 'https://example.com/g.png' });

    const signedIn = await apiOf(app).POST('/auth/sign-in', { body: { username, password: 'hopper-1906' } });
    expect(signedIn.response.status).toBe(200);
    const refresh = (refreshToken: string) => apiOf(app).POST('/auth/refresh', { body: { refreshToken } });
    const refreshed = await refresh(signedIn.data!.refreshToken);
    expect(refreshed.response.status).toBe(200);
    // Once its successor was used, the old token again is a replay (within the grace or not).
    expect((await refresh(refreshed.data!.refreshToken)).response.status).toBe(200);
    const replay = await refresh(signedIn.data!.refreshToken);
    expect(replay.response.status).toBe(401);
    expect(replay.error).toMatchObject({ error: { code: 'AUTH.REFRESH_TOKEN_REUSED' } });

    expect((await holding(tokens.accessToken).POST('/auth/sign-out')).response.status).toBe(204);
    const after = await holding(tokens.accessToken).GET('/me');
    expect(after.response.status).toBe(401);
    expect(after.error).toMatchObject({ error: { code: 'AUTH.SESSION_REVOKED' } });
  });

  it('refuses the anonymous, wrong passwords and taken names, with the one error body', async () => {
    const anonymous = await apiOf(app).GET('/me');
    expect(anonymous.response.status).toBe(401);
    expect(anonymous.error).toMatchObject({ error: { code: 'AUTH.INVALID_TOKEN' } });
    expect((await holding('x.y.z').GET('/me')).response.status).toBe(401);
    const username = uniqueId('taken').toLowerCase();
    await apiOf(app).POST('/auth/register', { body: { username, password: 'password-1', displayName: 'T' } });
    const again = await apiOf(app).POST('/auth/register', {
      body: { username, password: 'password-2', displayName: 'U' },
    });
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ error: { code: 'USER.USERNAME_TAKEN' } });
    const wrong = await apiOf(app).POST('/auth/sign-in', { body: { username, password: 'password-2' } });
    expect(wrong.response.status).toBe(401);
    expect(wrong.error).toMatchObject({ error: { code: 'AUTH.INVALID_CREDENTIALS' } });
    expect((await apiOf(app).GET('/health')).response.status).toBe(200);
  });

  it('bad input is a 400 naming the field, never a 5xx', async () => {
    // A user name the document allows (it states no characters) but the domain refuses: through the
    // typed client, as `body`. Every other payload is what the document forbids on purpose (not
    // JSON, an unknown field, a wrong type, a password under 8 characters, not an object), sent raw.
    const notValid = { username: 'Not Valid!', password: 'password-1', displayName: 'A' };
    const cases: { payload: string; field?: string; body?: typeof notValid }[] = [
      { payload: '{"username": "abc", ' }, // malformed JSON
      {
        payload: JSON.stringify({ username: 'abcd', password: 'password-1', displayName: 'A', admin: true }),
        field: '(root)',
      },
      { payload: JSON.stringify({ username: 7, password: 'password-1', displayName: 'A' }), field: 'username' },
      { payload: JSON.stringify({ username: 'abcd', password: 'short', displayName: 'A' }), field: 'password' },
      { payload: '{"username":"abcd","password":"password-1","displayName":"A","__proto__":{"admin":true}}' },
      { payload: JSON.stringify(notValid), body: notValid },
      { payload: JSON.stringify([1, 2]) },
      { payload: 'null' },
    ];
    type Refusal = { error: { code: string; message: string; details?: { path: string }[] } };
    const register = async (payload: string, allowed?: typeof notValid) => {
      if (allowed !== undefined) {
        const answer = await apiOf(app).POST('/auth/register', { body: allowed });
        return { status: answer.response.status, body: answer.error };
      }
      const response = await app.inject({
        method: 'POST',
        url: '/auth/register',
        payload,
        headers: { 'content-type': 'application/json' },
      });
      return { status: response.statusCode, body: response.json<Refusal>() };
    };
    for (const { payload, field, body: allowed } of cases) {
      const { status, body } = await register(payload, allowed);
      expect(status, payload).toBe(400);
      expect(body?.error.code).toMatch(/^(REQUEST|USER)\.INVALID$/);
      if (field) expect(body?.error.details?.map((d) => d.path)).toContain(field);
      expect(JSON.stringify(body)).not.toContain('password-1');
    }
    // The document forbids it on purpose: a body over the limit.
    const huge = await app.inject({
      method: 'POST',
      url: '/auth/register',
      payload: JSON.stringify({ username: 'abcd', password: 'x'.repeat(2 * 1024 * 1024), displayName: 'A' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.statusCode).toBe(413);
  });
});

describe('rate limits', () => {
  it('sign-ins per IP, then requests per user: 429 with Retry-After and the error body', async () => {
    const limited = await createApp({
      config: loadConfig({ RATE_LIMIT_SIGN_IN_PER_MINUTE: '3', RATE_LIMIT_USER_PER_SECOND: '2' }),
      databaseUrl: testDatabaseUrl(),
      logger: new JsonLogger('fatal'),
      jwtSecret: TEST_JWT_SECRET,
    });
    try {
      const signIn = () => apiOf(limited).POST('/auth/sign-in', { body: { username: 'nobody', password: 'guess-1' } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await signIn()).response.status);
      const refused = await signIn();
      expect([...statuses, refused.response.status]).toEqual([401, 401, 401, 429]);
      expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.error).toMatchObject({ error: { code: 'REQUEST.RATE_LIMITED' } });

      const registered = await apiOf(app).POST('/auth/register', {
        body: { username: uniqueId('rl').toLowerCase(), password: 'password-1', displayName: 'R' },
      });
      if (registered.data === undefined) throw new Error(`sign-up: ${registered.response.status}`);
      const me = () => apiOf(limited, { token: registered.data.accessToken }).GET('/me');
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await me()).response.status);
      expect(codes.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(codes).toContain(429);
    } finally {
      await limited.close();
    }
  });
});

describe('behind a reverse proxy (an ingress)', () => {
  const signInFrom = (target: NestFastifyApplication, forwardedFor: string) =>
    target.inject({
      method: 'POST',
      url: '/auth/sign-in',
      payload: { username: 'nobody', password: 'guess-1' },
      // inject's peer is 127.0.0.1: here, the proxy.
      headers: { 'x-forwarded-for': forwardedFor },
    });

  it("with TRUST_PROXY naming the proxy, each client behind it has its own IP limits: one client's guesses do not lock the others out", async () => {
    const proxied = await createApp({
      config: loadConfig({ RATE_LIMIT_SIGN_IN_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1/8' }),
      databaseUrl: testDatabaseUrl(),
      logger: new JsonLogger('fatal'),
      jwtSecret: TEST_JWT_SECRET,
    });
    try {
      const attacker = [];
      for (let i = 0; i < 4; i++) attacker.push((await signInFrom(proxied, '203.0.113.9')).statusCode);
      expect(attacker).toEqual([401, 401, 401, 429]);
      // Another client through the same proxy is not refused; nor is the attacker freed by naming another address
      // to the left of the one the proxy appended.
      expect((await signInFrom(proxied, '198.51.100.7')).statusCode).toBe(401);
      expect((await signInFrom(proxied, '192.0.2.1, 203.0.113.9')).statusCode).toBe(429);
      // Sessions record the client, not the proxy.
      const username = uniqueId('px').toLowerCase();
      await apiOf(proxied).POST('/auth/register', { body: { username, password: 'password-1', displayName: 'P' } });
      const signedIn = await proxied.inject({
        method: 'POST',
        url: '/auth/sign-in',
        payload: { username, password: 'password-1' },
        headers: { 'x-forwarded-for': '198.51.100.8' },
      });
      const { accessToken } = signedIn.json<{ accessToken: string }>();
      const current = async () =>
        (
          await proxied.inject({
            method: 'GET',
            url: '/me/sessions',
            headers: { authorization: `Bearer ${accessToken}` },
          })
        )
          .json<{ sessions: { ip: string; current: boolean }[] }>()
          .sessions.find((session) => session.current);
      await eventually(async () => (await current()) !== undefined);
      expect((await current())?.ip).toBe('198.51.100.8');
    } finally {
      await proxied.close();
    }
  });

  it('an IPv6 client is limited by its /64: the addresses of one network do not each get their own budget', async () => {
    const proxied = await createApp({
      config: loadConfig({ RATE_LIMIT_SIGN_IN_PER_MINUTE: '3', TRUST_PROXY: '127.0.0.1/8' }),
      databaseUrl: testDatabaseUrl(),
      logger: new JsonLogger('fatal'),
      jwtSecret: TEST_JWT_SECRET,
    });
    try {
      const statuses = [];
      // One host may take any of its network's 2^64 addresses.
      for (const host of [':1', ':2', ':abcd:1', 'ffff:ffff:ffff:fffe']) {
        statuses.push((await signInFrom(proxied, `2001:db8:aa:bb:${host}`)).statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect((await signInFrom(proxied, '2001:db8:aa:bc::1')).statusCode).toBe(401);
    } finally {
      await proxied.close();
    }
  });

  it('without TRUST_PROXY, X-Forwarded-For is not believed: a client cannot escape its limits by sending one', async () => {
    const direct = await createApp({
      config: loadConfig({ RATE_LIMIT_SIGN_IN_PER_MINUTE: '3' }),
      databaseUrl: testDatabaseUrl(),
      logger: new JsonLogger('fatal'),
      jwtSecret: TEST_JWT_SECRET,
    });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await signInFrom(direct, `203.0.113.${i}`)).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await direct.close();
    }
  });
});

describe('OpenAPI', () => {
  it('serves the document, with request bodies from the validating schemas, and Swagger UI', async () => {
    // The document does not describe its own routes (/docs, /docs/json): outside the client.
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<{
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: { properties?: object } }> };
            parameters?: { name: string; in: string }[];
          }
        >
      >;
    }>();
    expect(document.openapi).toMatch(/^3\./);
    const send = document.paths['/conversations/{id}/messages']?.post;
    expect(Object.keys(send?.requestBody?.content['application/json']?.schema.properties ?? {})).toEqual(
      expect.arrayContaining(['clientMessageId', 'text', 'mentions', 'attachments']),
    );
    // Queries too: the lists' paging.
    const inbox = document.paths['/conversations']?.get;
    expect(inbox?.parameters?.filter((p) => p.in === 'query').map((p) => p.name)).toEqual(['after', 'cursor', 'limit']);
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });
});
