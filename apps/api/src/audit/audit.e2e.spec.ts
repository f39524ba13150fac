/**
 * The auditors' API end to end: refusals that look like a missing route (and reach the
 * security log), one stream with full metadata, the log as NDJSON with its filters, the
 * audit trail of every read, and a conversation as of a seq, a checkpoint and a time,
 * compared with what the live read API answered at those moments.
 */
import type { EventStore } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { SystemRoles } from '@herald/identity';
import { freshDatabase } from '@herald/testing';
import { JsonLogger } from '@herald/nest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { EVENT_STORE } from '../tokens.js';

let app: NestFastifyApplication;
const logLines: string[] = [];
let auditor: TestUser;

beforeAll(async () => {
  app = await testApp({}, undefined, new JsonLogger('warn', (line) => logLines.push(line)));
  auditor = await signUp(app, 'auditor');
  await app.get(SystemRoles).grant(auditor.userId, 'auditor', {
    actorId: 'cli:test',
    correlationId: randomUUID(),
    now: new Date(),
  });
});
afterAll(async () => {
  await app.close();
});

const get = (who: TestUser | undefined, url: string) =>
  app.inject({ method: 'GET', url, headers: who ? { authorization: `Bearer ${who.token}` } : {} });

async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  expect(response.status, `${response.status}: ${JSON.stringify(data ?? error)}`).toBeLessThan(300);
  return data!;
}

describe('the audit API refuses everyone but auditors as a missing route', () => {
  it('answers the anonymous, a plain user and a revoked auditor 404 REQUEST.NOT_FOUND, logged as an authorization refusal', async () => {
    const missing = await get(undefined, '/audit/no-such-route');
    const user = await signUp(app, 'plain');
    const revoked = await signUp(app, 'revoked');
    const roles = app.get(SystemRoles);
    const context = { actorId: 'cli:test', correlationId: randomUUID(), now: new Date() };
    await roles.grant(revoked.userId, 'auditor', context);
    expect((await get(revoked, '/audit/log?type=MessageSent')).statusCode).toBe(200);
    await roles.revoke(revoked.userId, 'auditor', context);
    for (const [who, url] of [
      [undefined, '/audit/log'],
      [user, '/audit/log'],
      [user, `/audit/streams/user-${user.userId}/events`],
      [user, `/audit/conversations/${randomUUID()}?seq=0`],
      [revoked, '/audit/log'],
    ] as const) {
      const answer = await get(who, url);
      expect(answer.statusCode, url).toBe(404);
      expect(answer.json()).toEqual(missing.json());
    }
    const refusals = logLines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'authorization refused: AUDIT.NOT_AN_AUDITOR');
    expect(refusals.map((r) => r.userId)).toEqual([undefined, user.userId, user.userId, user.userId, revoked.userId]);
    expect(refusals[0]).toMatchObject({ level: 'warn', context: 'Auth', route: '/audit/log', method: 'GET' });
  });
});

describe('an auditor reads history', () => {
  it('reads a stream with full metadata, the log as NDJSON with filters, and their own audit trail', async () => {
    const [ann, bob] = await Promise.all([signUp(app, 'ann'), signUp(app, 'bob')]);
    const group = await ok(
      apiOf(app, ann).POST('/conversations/groups', { body: { name: 'g', memberIds: [bob.userId] } }),
    );
    const id = group.conversationId;
    for (const [who, text] of [
      [ann, 'one'],
      [bob, 'two'],
      [ann, 'three'],
    ] as const) {
      await ok(
        apiOf(app, who).POST('/conversations/{id}/messages', {
          params: { path: { id } },
          body: { clientMessageId: randomUUID(), text },
        }),
      );
    }
    const page = await get(auditor, `/audit/streams/conversation-${id}/events?limit=2`);
    expect(page.statusCode).toBe(200);
    const first = page.json<{ events: Record<string, unknown>[]; nextCursor: number }>();
    expect(first.events.map((e) => [e.revision, e.type])).toEqual([
      [0, 'GroupCreated'],
      [1, 'MessageSent'],
    ]);
    expect(first.nextCursor).toBe(1);
    expect(first.events[1]).toMatchObject({
      streamId: streamIdOf('conversation', id),
      schemaVersion: 1,
      metadata: { actorId: ann.userId },
    });
    expect(first.events[1]!.checkpoint).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/);
    expect(first.events[1]!.recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
    expect(Object.keys(first.events[1]!.metadata as object).sort()).toEqual([
      'actorId',
      'causationId',
      'clientMessageId',
      'correlationId',
      'occurredAt',
    ]);
    const rest = (await get(auditor, `/audit/streams/conversation-${id}/events?after=1`)).json<{
      events: { revision: number }[];
      nextCursor: null;
    }>();
    expect(rest.events.map((e) => e.revision)).toEqual([2, 3]);
    expect(rest.nextCursor).toBeNull();

    // The log: the conversation's stream, in order, one JSON object a line.
    const log = await get(auditor, `/audit/log?conversation=${id}`);
    expect(log.statusCode).toBe(200);
    expect(log.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = log.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.type)).toEqual(['GroupCreated', 'MessageSent', 'MessageSent', 'MessageSent']);
    expect(lines).toEqual([...first.events, ...(await streamEvents(streamIdOf('conversation', id))).slice(2)]);
    // Filters: by actor and type over the whole log; by checkpoint range; by time range.
    const bobs = await ndjson(`/audit/log?actor=${bob.userId}&type=MessageSent`);
    expect(bobs.map((l) => (l.data as { text: string }).text)).toEqual(['two']);
    const range = await ndjson(
      `/audit/log?conversation=${id}&after=${String(lines[0]!.checkpoint)}&upTo=${String(lines[2]!.checkpoint)}`,
    );
    expect(range.map((l) => l.revision)).toEqual([1, 2]);
    const since = encodeURIComponent(String(lines[1]!.recordedAt));
    const timed = await ndjson(`/audit/log?since=${since}&category=conversation&type=MessageSent`);
    expect(timed.filter((l) => l.streamId === streamIdOf('conversation', id)).map((l) => l.revision)).toEqual([
      1, 2, 3,
    ]);
    const ordered = (await ndjson('/audit/log')).map((l) => String(l.checkpoint));
    expect(ordered).toEqual([...ordered].sort());
    expect((await get(auditor, '/audit/log?type=NoSuchEvent')).statusCode).toBe(400);
    expect((await get(auditor, `/audit/log?after=${String(lines[0]!.checkpoint)}&since=${since}`)).statusCode).toBe(
      400,
    );

    // Every read above is in the auditor's own audit stream, with what it asked.
    const trail = await streamEvents(streamIdOf('audit', auditor.userId));
    expect(trail.length).toBeGreaterThanOrEqual(9);
    expect(trail.every((e) => e.type === 'AuditRead')).toBe(true);
    expect(trail.map((e) => e.data)).toContainEqual({
      auditor: auditor.userId,
      read: 'GET /audit/log',
      params: { actor: bob.userId, type: 'MessageSent' },
    });
    // No route writes it: the API has no write under /audit.
    const write = await app.inject({
      method: 'POST',
      url: `/audit/streams/${streamIdOf('audit', auditor.userId)}/events`,
      headers: { authorization: `Bearer ${auditor.token}` },
      payload: {},
    });
    expect(write.statusCode).toBe(404);
  });
});

describe('credentials in the audit API', () => {
  it("shows no password hash: PasswordSet's passwordHash reads [redacted] in stream pages and in the NDJSON log", async () => {
    const ann = await signUp(app, 'ann');
    const page = (await get(auditor, `/audit/streams/user-${ann.userId}/events`)).json<{
      events: { type: string; data: Record<string, unknown> }[];
    }>();
    const set = page.events.find((e) => e.type === 'PasswordSet')!;
    expect(set.data).toEqual({ userId: ann.userId, passwordHash: '[redacted]' });
    const lines = await ndjson(`/audit/log?type=PasswordSet`);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect((line.data as { passwordHash: string }).passwordHash).toBe('[redacted]');
    expect((await get(auditor, '/audit/log')).body).not.toContain('$argon2id$');
    // Everything else as stored.
    const registered = page.events.find((e) => e.type === 'UserRegistered')!;
    expect(registered.data).toMatchObject({ userId: ann.userId });
  });
});

describe('bad input to the audit API', () => {
  it('answers a well-formed checkpoint beyond what the store can hold 400 REQUEST.INVALID, never a 500', async () => {
    // The second half of a checkpoint is a PostgreSQL bigint: 8000000000000000 and up fit no row.
    const beyond = 'ffffffffffffffff-ffffffffffffffff';
    for (const url of [
      `/audit/log?after=${beyond}`,
      `/audit/log?upTo=${beyond}`,
      `/audit/log?after=0000000000000000-8000000000000000`,
      `/audit/events/${beyond}/proof`,
      `/audit/conversations/${randomUUID()}?checkpoint=${beyond}`,
    ]) {
      const answer = await get(auditor, url);
      expect(answer.statusCode, `${url}: ${answer.body}`).toBe(400);
      expect(answer.json<{ error: { code: string } }>().error.code, url).toBe('REQUEST.INVALID');
    }
  });
});

describe('the audit API and the request rate', () => {
  it("counts an auditor's audit reads against their RATE_LIMIT_USER_PER_SECOND, as every signed-in request", async () => {
    // 2 a second, bursts of 6: each as-of read may fold 100,000 events, so it must not be free.
    const limited = await testApp({ RATE_LIMIT_USER_PER_SECOND: '2' });
    try {
      const who = await signUp(limited, 'limited-auditor');
      await limited
        .get(SystemRoles)
        .grant(who.userId, 'auditor', { actorId: 'cli:test', correlationId: randomUUID(), now: new Date() });
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const answer = await limited.inject({
          method: 'GET',
          url: `/audit/streams/user-${who.userId}/events`,
          headers: { authorization: `Bearer ${who.token}` },
        });
        statuses.push(answer.statusCode);
        if (answer.statusCode === 429) {
          expect(answer.json()).toMatchObject({ error: { code: 'REQUEST.RATE_LIMITED' } });
          expect(answer.headers['retry-after']).toBeDefined();
        }
      }
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(7);
      expect(statuses).toContain(429);
    } finally {
      await limited.close();
    }
  });
});

async function ndjson(url: string): Promise<Record<string, unknown>[]> {
  const answer = await get(auditor, url);
  expect(answer.statusCode, answer.body).toBe(200);
  return answer.body === ''
    ? []
    : answer.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function streamEvents(streamId: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let after = -1;
  for (;;) {
    const page = (await get(auditor, `/audit/streams/${streamId}/events?limit=100&after=${after}`)).json<{
      events: Record<string, unknown>[];
      nextCursor: number | null;
    }>();
    out.push(...page.events);
    if (page.nextCursor === null) return out;
    after = page.nextCursor;
  }
}

describe('HERALD_INITIAL_OPERATOR', () => {
  it('grants the named user the operator role at start, once, as system', async () => {
    const url = await freshDatabase();
    const first = await testApp({}, url);
    let boss: TestUser;
    let username: string | undefined;
    try {
      boss = await signUp(first, 'boss');
      username = (await apiOf(first, boss).GET('/me')).data?.username;
    } finally {
      await first.close();
    }
    // Named by user name, then (as where anyone may register) by user id: the same user, one grant.
    for (const named of [username!, boss!.userId]) {
      const next = await testApp({ HERALD_INITIAL_OPERATOR: named }, url);
      try {
        expect(await next.get(SystemRoles).hasSystemRole(boss.userId, 'operator')).toBe(true);
        const grants = (await next.get<EventStore>(EVENT_STORE).readStream(streamIdOf('user', boss.userId))).filter(
          (e) => e.type === 'SystemRoleGranted',
        );
        expect(grants.map((e) => [e.data, e.metadata.actorId])).toEqual([
          [{ userId: boss.userId, role: 'operator', by: 'system' }, 'system'],
        ]);
      } finally {
        await next.close();
      }
    }
  });

  it('does not grant the role again at a restart once it was revoked: a revocation outlasts the configuration', async () => {
    const url = await freshDatabase();
    const logged: string[] = [];
    const first = await testApp({}, url);
    let boss: TestUser;
    let username: string | undefined;
    try {
      boss = await signUp(first, 'boss');
      username = (await apiOf(first, boss).GET('/me')).data?.username;
    } finally {
      await first.close();
    }
    const granted = await testApp({ HERALD_INITIAL_OPERATOR: username! }, url);
    try {
      expect(await granted.get(SystemRoles).hasSystemRole(boss.userId, 'operator')).toBe(true);
      // Another operator revokes it (the account was compromised, say); the variable is still set.
      await granted
        .get(SystemRoles)
        .revoke(boss.userId, 'operator', { actorId: 'cli:ops', correlationId: randomUUID(), now: new Date() });
    } finally {
      await granted.close();
    }
    const restarted = await testApp(
      { HERALD_INITIAL_OPERATOR: username! },
      url,
      new JsonLogger('warn', (line) => logged.push(line)),
    );
    try {
      expect(await restarted.get(SystemRoles).hasSystemRole(boss.userId, 'operator')).toBe(false);
      const grants = (await restarted.get<EventStore>(EVENT_STORE).readStream(streamIdOf('user', boss.userId))).filter(
        (e) => e.type === 'SystemRoleGranted',
      );
      expect(grants).toHaveLength(1);
      expect(logged.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContainEqual(
        expect.stringMatching(/^HERALD_INITIAL_OPERATOR .* was revoked/),
      );
    } finally {
      await restarted.close();
    }
  });
});
