/**
 * For the API's end-to-end tests: an app on a database of its own unless given one (several
 * apps on one database are instances of one deployment: one runs each projection, the
 * others stand by), with rate limits raised for tests that sign up many users, and a quick
 * sign-up. Every answer the test app serves is checked against the response contract
 * (responses.ts), so every end-to-end test checks it. Requests go through the typed
 * client (test-client.ts).
 */
import { loadConfig } from '@herald/config';
import { ErrorBodySchema, JsonLogger } from '@herald/nest';
import { freshDatabase, TEST_JWT_SECRET, uniqueId } from '@herald/testing';
import type { EventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { z } from 'zod';
import { createApp } from './bootstrap.js';
import type { OperatorCheck } from './operators/operator.js';
import { DOCUMENT_ROUTES, OPERATIONS_ROUTES, RESPONSES } from './responses.js';
import { apiOf } from './test-client.js';
import { EVENT_STORE } from './tokens.js';

export async function testApp(
  env: Record<string, string> = {},
  databaseUrl?: string,
  logger = new JsonLogger('fatal'),
  options: {
    readonly operatorCheck?: OperatorCheck;
    readonly notifier?: boolean;
    readonly eventStore?: EventStore;
  } = {},
): Promise<NestFastifyApplication> {
  const breaches: string[] = [];
  const app = await createApp(
    {
      config: loadConfig({
        RATE_LIMIT_SIGN_IN_PER_MINUTE: '100000',
        RATE_LIMIT_IP_PER_SECOND: '100000',
        RATE_LIMIT_USER_PER_SECOND: '100000',
        RATE_LIMIT_SEARCH_PER_SECOND: '100000',
        ...env,
      }),
      databaseUrl: databaseUrl ?? (await freshDatabase()),
      logger,
      jwtSecret: TEST_JWT_SECRET,
      ...options,
    },
    (fastify) => checkContract(fastify, breaches),
  );
  // A breach fails the test that met it (its answer becomes a 500 saying why) and, should
  // that test not look at the answer, the suite when it closes the app. (A proxy: Nest's
  // own proxy ignores assignments to the app.)
  const close = async (): Promise<void> => {
    await app.close();
    if (breaches.length > 0) throw new Error(`answers outside the response contract:\n${breaches.join('\n')}`);
  };
  return new Proxy(app, { get: (target, key) => (key === 'close' ? close : Reflect.get(target, key)) as unknown });
}

/**
 * Checks each answer against responses.ts: its status is one the route's contract lists,
 * and its body meets that status's schema. An answer outside any route (no such route) is
 * an error body.
 */
function checkContract(fastify: FastifyInstance, breaches: string[]): void {
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (request.method === 'HEAD' || request.method === 'OPTIONS') return payload;
    const route = request.routeOptions.url === undefined ? undefined : `${request.method} ${request.routeOptions.url}`;
    if (route !== undefined && (DOCUMENT_ROUTES.includes(route) || OPERATIONS_ROUTES.includes(route))) return payload;
    const status = reply.statusCode;
    const breach = breachOf(route, status, payload);
    if (breach === undefined) return payload;
    breaches.push(`${route ?? `${request.method} ${request.url}`} ${status}: ${breach}`);
    void reply.code(500).header('content-type', 'application/json; charset=utf-8');
    return JSON.stringify({ error: { code: 'INTERNAL', message: `response contract: ${status}: ${breach}` } });
  });
}

/** What is wrong with an answer of `route` (undefined: outside any route), if anything. */
export function breachOf(route: string | undefined, status: number, payload: unknown): string | undefined {
  let schema: z.ZodType | null | undefined;
  if (route === undefined) schema = ErrorBodySchema;
  else {
    const contract = RESPONSES[route];
    if (contract === undefined) return 'the route has no contract in responses.ts';
    schema = contract.responses[status];
    if (schema === undefined) return `status not in the contract (${Object.keys(contract.responses).join(', ')})`;
  }
  // A streamed answer (the audit log's NDJSON) is not read here: its lines are the tests' to check.
  if (payload instanceof Readable) return undefined;
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : '';
  if (schema === null) return text === '' ? undefined : 'a body where none is due';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const result = schema.safeParse(body);
  return result.success
    ? undefined
    : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

export interface TestUser {
  readonly userId: string;
  readonly token: string;
}

/** Signs up a user with a fresh name. */
export async function signUp(app: NestFastifyApplication, name: string): Promise<TestUser> {
  const { data, response } = await apiOf(app).POST('/auth/register', {
    body: { username: uniqueId(name).toLowerCase(), password: 'password-1', displayName: name },
  });
  if (data === undefined) throw new Error(`sign-up of ${name}: ${response.status}`);
  return { userId: data.userId, token: data.accessToken };
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

/**
 * `METHOD /path` of every route the app serves, read from Fastify's route tree (HEAD and
 * OPTIONS aside): for the tests that must cover every route.
 */
export function servedRoutes(app: NestFastifyApplication): string[] {
  const tree = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
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
