/**
 * For the API's end-to-end tests: an app on a database of its own unless given one (several
 * apps on one database are instances of one deployment: one runs each projection, the
 * others stand by), with rate limits raised for tests that sign up many users, and a quick
 * sign-up.
 */
import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { freshDatabase, TEST_JWT_SECRET, uniqueId } from '@herald/testing';
import type { EventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { createApp } from './bootstrap.js';
import { EVENT_STORE } from './tokens.js';

export async function testApp(
  env: Record<string, string> = {},
  databaseUrl?: string,
  logger = new JsonLogger('fatal'),
): Promise<NestFastifyApplication> {
  return createApp({
    config: loadConfig({
      RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
      RATE_LIMIT_IP_PER_SECOND: '100000',
      RATE_LIMIT_USER_PER_SECOND: '100000',
      ...env,
    }),
    databaseUrl: databaseUrl ?? (await freshDatabase()),
    logger,
    jwtSecret: TEST_JWT_SECRET,
  });
}

export interface TestUser {
  readonly userId: string;
  readonly token: string;
}

/** Signs up a user with a fresh name. */
export async function signUp(app: NestFastifyApplication, name: string): Promise<TestUser> {
  const response = await app.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { username: uniqueId(name).toLowerCase(), password: 'password-1', displayName: name },
  });
  const body = response.json<{ userId: string; accessToken: string }>();
  return { userId: body.userId, token: body.accessToken };
}

/**
 * Every page of a list, following `nextCursor` from the first page to the null one: the
 * rows of each page in order. `url` may carry a query; `list` names the rows' field.
 */
export async function everyPage<T>(
  app: NestFastifyApplication,
  who: TestUser,
  url: string,
  list: string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | null = null;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const response = await app.inject({
      method: 'GET',
      url: cursor === null ? url : `${url}${separator}cursor=${encodeURIComponent(cursor)}`,
      headers: { authorization: `Bearer ${who.token}` },
    });
    if (response.statusCode !== 200) throw new Error(`GET ${url}: ${response.statusCode} ${response.body}`);
    const page = response.json<Record<string, unknown>>();
    pages.push(page[list] as T[]);
    cursor = page.nextCursor as string | null;
    // A cursor that never ends is a failure, not a hung test.
    if (pages.length > 1000) throw new Error(`GET ${url}: more than 1000 pages`);
  } while (cursor !== null);
  return pages;
}

/**
 * Writes, past every edge, an event the membership read model cannot apply (a mute in year
 * 0): what a bug would do, since no request can any more. Membership parks it and stops.
 */
export async function parkMembership(
  app: NestFastifyApplication,
  conversationId: string,
  userId: string,
): Promise<void> {
  await app.get<EventStore>(EVENT_STORE).append(
    streamIdOf('receipts', randomUUID()),
    [
      {
        eventId: randomUUID(),
        type: 'ConversationMuteChanged',
        schemaVersion: 1,
        data: { conversationId, userId, muted: true, until: '0000-01-01T00:00:00Z' },
        metadata: { actorId: userId, correlationId: 'test', causationId: 'test', occurredAt: new Date().toISOString() },
      },
    ],
    'any',
  );
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A request as `who`, answered as its status, JSON body and raw text. */
export function caller(app: NestFastifyApplication) {
  return async (who: TestUser, method: Method, url: string, payload?: object) => {
    const response = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${who.token}` },
      ...(payload ? { payload } : {}),
    });
    return { status: response.statusCode, body: response.json<Record<string, unknown>>(), raw: response.body };
  };
}
