/**
 * For the API's end-to-end tests: an app on a database of its own unless given one (several
 * apps on one database are instances of one deployment: one runs each projection, the
 * others stand by), with rate limits raised for tests that sign up many users, and a quick
 * sign-up.
 */
import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { freshDatabase, TEST_JWT_SECRET, uniqueId } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from './bootstrap.js';

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
