import { PostgresEventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { testDatabaseUrl, uniqueId } from '@herald/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityError } from './domain/errors.js';
import { REFRESH_REUSE_GRACE_SECONDS } from './domain/session.js';
import { IdentityService } from './identity.service.js';
import { AccessTokens } from './tokens.js';

let store: PostgresEventStore;
let identity: IdentityService;
const request = (now = new Date()) => ({ correlationId: uniqueId('c'), ip: '127.0.0.1', now });
const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> =>
  promise.then(
    () => undefined,
    (error: unknown) => (error instanceof IdentityError ? error.code : String(error)),
  );

beforeAll(async () => {
  store = new PostgresEventStore({ connectionString: testDatabaseUrl(), poolSize: 4 });
  await store.migrate();
  identity = new IdentityService(store, new AccessTokens('x'.repeat(32), 900), 3600);
});
afterAll(async () => {
  await store.close();
});

describe('identity service (PostgreSQL)', () => {
  it('registers, signs in, keeps user names unique, and records sign-in attempts', async () => {
    const username = uniqueId('ada').toLowerCase();
    const registered = await identity.register({ username, password: 'correct horse', displayName: 'Ada' }, request());
    expect(await identity.authenticate(registered.accessToken, new Date())).toEqual({
      userId: registered.userId,
      sessionId: registered.sessionId,
    });
    expect(
      await codeOf(
        identity.register({ username: username.toUpperCase(), password: 'another one', displayName: 'B' }, request()),
      ),
    ).toBe('USER.USERNAME_TAKEN');
    expect(await codeOf(identity.signIn({ username, password: 'wrong horse' }, request()))).toBe(
      'AUTH.INVALID_CREDENTIALS',
    );
    expect(await codeOf(identity.signIn({ username: 'nobody-here', password: 'wrong horse' }, request()))).toBe(
      'AUTH.INVALID_CREDENTIALS',
    );
    const signedIn = await identity.signIn({ username, password: 'correct horse' }, request());
    expect(signedIn.userId).toBe(registered.userId);
    const attempts = (await store.readStream(streamIdOf('user', registered.userId))).filter(
      (e) => e.type === 'SignInAttempted',
    );
    expect(attempts.map((e) => (e.data as { succeeded: boolean }).succeeded)).toEqual([false, true]);
    // The hash stays in its internal event; nothing else carries the password.
    const stored = JSON.stringify(await store.readStream(streamIdOf('user', registered.userId)));
    expect(stored).not.toContain('correct horse');
  });

  it('two registrations racing for one user name: exactly one wins', async () => {
    const username = uniqueId('race').toLowerCase();
    const outcomes = await Promise.allSettled(
      [1, 2, 3].map(() => identity.register({ username, password: 'password!', displayName: 'R' }, request())),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'rejected') expect((o.reason as IdentityError).code).toBe('USER.USERNAME_TAKEN');
  });

  it('rotates refresh tokens; a replayed one revokes the session and its access tokens', async () => {
    const first = await identity.register(
      { username: uniqueId('rot').toLowerCase(), password: 'password!', displayName: 'R' },
      request(),
    );
    const at = new Date();
    const second = await identity.refresh(first.refreshToken, request(at));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    // Past the grace of its rotation, the first token again is a replay.
    const late = new Date(at.getTime() + (REFRESH_REUSE_GRACE_SECONDS + 1) * 1000);
    expect(await codeOf(identity.refresh(first.refreshToken, request(late)))).toBe('AUTH.REFRESH_TOKEN_REUSED');
    expect(await codeOf(identity.refresh(second.refreshToken, request()))).toBe('AUTH.SESSION_REVOKED');
    expect(await codeOf(identity.authenticate(second.accessToken, new Date()))).toBe('AUTH.SESSION_REVOKED');
    expect(await codeOf(identity.refresh('not-a-token', request()))).toBe('AUTH.INVALID_TOKEN');
  });

  it('the same refresh token again within the grace (or at once, racing) gets the same pair, and writes nothing', async () => {
    const first = await identity.register(
      { username: uniqueId('grace').toLowerCase(), password: 'password!', displayName: 'G' },
      request(),
    );
    const at = new Date();
    const racing = await Promise.all([1, 2, 3].map(() => identity.refresh(first.refreshToken, request(at))));
    expect(new Set(racing.map((t) => t.refreshToken)).size).toBe(1);
    const within = new Date(at.getTime() + REFRESH_REUSE_GRACE_SECONDS * 1000);
    const again = await identity.refresh(first.refreshToken, request(within));
    expect(again.refreshToken).toBe(racing[0]!.refreshToken);
    const session = await store.readStream(streamIdOf('session', first.sessionId));
    expect(session.map((e) => e.type)).toEqual(['SessionStarted', 'SessionRefreshed']);
    expect(await identity.authenticate(again.accessToken, new Date())).toMatchObject({ sessionId: first.sessionId });
  });

  it('signing out ends the session at once; profiles change field by field', async () => {
    const tokens = await identity.register(
      { username: uniqueId('out').toLowerCase(), password: 'password!', displayName: 'O' },
      request(),
    );
    const claims = await identity.authenticate(tokens.accessToken, new Date());
    expect(await identity.updateProfile(claims.userId, { statusText: 'busy' }, request())).toMatchObject({
      displayName: 'O',
      statusText: 'busy',
      avatarUrl: null,
    });
    await identity.signOut(claims, request());
    expect(await codeOf(identity.authenticate(tokens.accessToken, new Date()))).toBe('AUTH.SESSION_REVOKED');
    expect(await codeOf(identity.refresh(tokens.refreshToken, request()))).toBe('AUTH.SESSION_REVOKED');
  });

  it('refuses forged and expired access tokens', async () => {
    const tokens = await identity.register(
      { username: uniqueId('jwt').toLowerCase(), password: 'password!', displayName: 'J' },
      request(),
    );
    const forged = await new AccessTokens('y'.repeat(32), 900).issue(
      { userId: tokens.userId, sessionId: tokens.sessionId },
      new Date(),
    );
    expect(await codeOf(identity.authenticate(forged, new Date()))).toBe('AUTH.INVALID_TOKEN');
    const [header, payload] = tokens.accessToken.split('.');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(header).toBeDefined();
    expect(await codeOf(identity.authenticate(none, new Date()))).toBe('AUTH.INVALID_TOKEN');
    const old = await new AccessTokens('x'.repeat(32), 1).issue(tokens, new Date(Date.now() - 10_000));
    expect(await codeOf(identity.authenticate(old, new Date()))).toBe('AUTH.SESSION_EXPIRED');
    // Signed with the right key, but for another audience, by another issuer, or with another algorithm.
    const signed = (alg: string, iss: string, aud: string): Promise<string> =>
      new SignJWT({ sid: tokens.sessionId })
        .setProtectedHeader({ alg, typ: 'JWT' })
        .setSubject(tokens.userId)
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('x'.repeat(32)));
    expect(await codeOf(identity.authenticate(await signed('HS256', 'herald', 'herald-api'), new Date()))).toBe(
      undefined,
    );
    for (const [alg, iss, aud] of [
      ['HS256', 'herald', 'elsewhere'],
      ['HS256', 'elsewhere', 'herald-api'],
      ['HS512', 'herald', 'herald-api'],
    ] as const) {
      expect(await codeOf(identity.authenticate(await signed(alg, iss, aud), new Date())), `${alg} ${iss} ${aud}`).toBe(
        'AUTH.INVALID_TOKEN',
      );
    }
  });
});
