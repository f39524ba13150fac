import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { TEST_JWT_SECRET, testDatabaseUrl, uniqueId } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../bootstrap.js';

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

const post = (url: string, payload: unknown, token?: string) =>
  app.inject({
    method: 'POST',
    url,
    payload: payload as object,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

interface Tokens {
  userId: string;
  accessToken: string;
  refreshToken: string;
}

describe('auth over HTTP', () => {
  it('register, me, profile, refresh (rotating), sign out', async () => {
    const username = uniqueId('grace').toLowerCase();
    const registered = await post('/auth/register', { username, password: 'hopper-1906', displayName: 'Grace' });
    expect(registered.statusCode).toBe(201);
    const tokens = registered.json<Tokens>();
    const me = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(me.json()).toEqual({
      userId: tokens.userId,
      username,
      displayName: 'Grace',
      avatarUrl: null,
      statusText: null,
    });
    const patched = await app.inject({
      method: 'PATCH',
      url: '/me',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
      payload: { statusText: 'compiling', avatarUrl: 'https://example.com/g.png' },
    });
    expect(patched.json()).toMatchObject({ statusText: 'compiling', avatarUrl: 'https://example.com/g.png' });

    const signedIn = await post('/auth/sign-in', { username, password: 'hopper-1906' });
    expect(signedIn.statusCode).toBe(200);
    const refreshed = await post('/auth/refresh', { refreshToken: signedIn.json<Tokens>().refreshToken });
    expect(refreshed.statusCode).toBe(200);
    // Once its successor was used, the old token again is a replay (within the grace or not).
    expect((await post('/auth/refresh', { refreshToken: refreshed.json<Tokens>().refreshToken })).statusCode).toBe(200);
    const replay = await post('/auth/refresh', { refreshToken: signedIn.json<Tokens>().refreshToken });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ error: { code: 'AUTH.REFRESH_TOKEN_REUSED' } });

    expect((await post('/auth/sign-out', undefined, tokens.accessToken)).statusCode).toBe(204);
    const after = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ error: { code: 'AUTH.SESSION_REVOKED' } });
  });

  it('refuses the anonymous, wrong passwords and taken names, with the one error body', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/me' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ error: { code: 'AUTH.INVALID_TOKEN' } });
    expect(
      (await app.inject({ method: 'GET', url: '/me', headers: { authorization: 'Bearer x.y.z' } })).statusCode,
    ).toBe(401);
    const username = uniqueId('taken').toLowerCase();
    await post('/auth/register', { username, password: 'password-1', displayName: 'T' });
    const again = await post('/auth/register', { username, password: 'password-2', displayName: 'U' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'USER.USERNAME_TAKEN' } });
    const wrong = await post('/auth/sign-in', { username, password: 'password-2' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: { code: 'AUTH.INVALID_CREDENTIALS' } });
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
  });

  it('bad input is a 400 naming the field, never a 5xx', async () => {
    const cases: { payload: string; field?: string }[] = [
      { payload: '{"username": "abc", ' }, // malformed JSON
      {
        payload: JSON.stringify({ username: 'abcd', password: 'password-1', displayName: 'A', admin: true }),
        field: '(root)',
      },
      { payload: JSON.stringify({ username: 7, password: 'password-1', displayName: 'A' }), field: 'username' },
      { payload: JSON.stringify({ username: 'abcd', password: 'short', displayName: 'A' }), field: 'password' },
      { payload: '{"username":"abcd","password":"password-1","displayName":"A","__proto__":{"admin":true}}' },
      { payload: JSON.stringify({ username: 'Not Valid!', password: 'password-1', displayName: 'A' }) },
      { payload: JSON.stringify([1, 2]) },
      { payload: 'null' },
    ];
    for (const { payload, field } of cases) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/register',
        payload,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.statusCode, payload).toBe(400);
      const body = response.json<{ error: { code: string; message: string; details?: { path: string }[] } }>();
      expect(body.error.code).toMatch(/^(REQUEST|USER)\.INVALID$/);
      if (field) expect(body.error.details?.map((d) => d.path)).toContain(field);
      expect(JSON.stringify(body)).not.toContain('password-1');
    }
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
      const signIn = () =>
        limited.inject({ method: 'POST', url: '/auth/sign-in', payload: { username: 'nobody', password: 'guess-1' } });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await signIn()).statusCode);
      const refused = await signIn();
      expect([...statuses, refused.statusCode]).toEqual([401, 401, 401, 429]);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json()).toMatchObject({ error: { code: 'REQUEST.RATE_LIMITED' } });

      const tokens = (
        await app.inject({
          method: 'POST',
          url: '/auth/register',
          payload: { username: uniqueId('rl').toLowerCase(), password: 'password-1', displayName: 'R' },
        })
      ).json<Tokens>();
      const me = () =>
        limited.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${tokens.accessToken}` } });
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await me()).statusCode);
      expect(codes.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(codes).toContain(429);
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI', () => {
  it('serves the document, with request bodies from the validating schemas, and Swagger UI', async () => {
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
