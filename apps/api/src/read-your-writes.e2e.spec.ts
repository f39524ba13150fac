/**
 * Read-your-writes across instances: two API instances on one database, as behind a load
 * balancer. One of them runs each projection, the other stands by; a query with `?after=`
 * on the standby answers once the active instance's projections reached the checkpoint.
 */
import { START } from '@herald/event-store';
import { eventually, freshDatabase } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReport } from './health/health.controller.js';
import { READ_YOUR_WRITES_MS } from '@herald/nest';
import { signUp, testApp, type TestUser } from './test-app.js';

let active: NestFastifyApplication;
let standby: NestFastifyApplication;

async function states(app: NestFastifyApplication): Promise<string[]> {
  const response = await app.inject({ method: 'GET', url: '/health' });
  return response.json<HealthReport>().projections.map((p) => p.state);
}

beforeAll(async () => {
  const databaseUrl = await freshDatabase();
  // One after the other: the first takes every projection's lock before the second asks.
  active = await testApp({}, databaseUrl);
  await eventually(async () => (await states(active)).every((s) => s === 'running'));
  standby = await testApp({}, databaseUrl);
  await eventually(async () => (await states(standby)).every((s) => s === 'standby'));
});
afterAll(async () => {
  await standby?.close();
  await active?.close();
});

async function call<T>(app: NestFastifyApplication, who: TestUser, method: 'GET' | 'POST', url: string, body?: object) {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${who.token}` },
    ...(body ? { payload: body } : {}),
  });
  return { status: response.statusCode, body: response.json<T>() };
}

interface Answer {
  conversationId: string;
  seq: number;
  checkpoint: string;
}

describe('read-your-writes on an instance that does not run the projections', () => {
  it('a command on one instance, then a query with ?after= on the other, sees the write', async () => {
    const [ada, bob] = await Promise.all([signUp(active, 'ada'), signUp(active, 'bob')]);
    const dm = await call<Answer>(active, ada, 'POST', '/conversations/direct', { userId: bob.userId });
    expect(dm.status).toBe(201);
    const id = dm.body.conversationId;
    const sent = await call<Answer>(active, ada, 'POST', `/conversations/${id}/messages`, {
      clientMessageId: randomUUID(),
      text: 'hello from the other instance',
    });
    expect(sent.status).toBe(201);

    const page = await call<{ messages: { seq: number; text: string; senderId: string }[] }>(
      standby,
      bob,
      'GET',
      `/conversations/${id}/messages?after=${sent.body.checkpoint}`,
    );
    expect(page.status).toBe(200);
    expect(page.body.messages).toMatchObject([
      { seq: sent.body.seq, text: 'hello from the other instance', senderId: ada.userId },
    ]);
    const inbox = await call<{ conversations: { conversationId: string; unreadCount: number }[] }>(
      standby,
      bob,
      'GET',
      `/conversations?after=${sent.body.checkpoint}`,
    );
    expect(inbox.status).toBe(200);
    expect(inbox.body.conversations.find((c) => c.conversationId === id)).toMatchObject({ unreadCount: 1 });

    // The standby answered from the active instance's work; it did not take over.
    expect(await states(standby)).toEqual((await states(active)).map(() => 'standby'));
    // Its /health reports where the shared read models are, not where it would be itself.
    const health = await standby.inject({ method: 'GET', url: '/health' });
    for (const projection of health.json<HealthReport>().projections) {
      expect(projection.checkpoint).not.toBe(START);
    }
  });

  it('the checkpoint may come as the x-herald-after header; one the read models do not reach in time is 503 with Retry-After', async () => {
    const [ada, bob] = await Promise.all([signUp(active, 'ada'), signUp(active, 'bob')]);
    const dm = await call<Answer>(active, ada, 'POST', '/conversations/direct', { userId: bob.userId });
    // The directory projection skips the conversation's event: nothing of it is missing either.
    const viaQuery = await standby.inject({
      method: 'GET',
      url: `/conversations?after=${dm.body.checkpoint}`,
      headers: { authorization: `Bearer ${bob.token}` },
    });
    expect(viaQuery.statusCode).toBe(200);
    const headed = await standby.inject({
      method: 'GET',
      url: '/conversations',
      headers: { authorization: `Bearer ${bob.token}`, 'x-herald-after': dm.body.checkpoint },
    });
    expect(headed.statusCode).toBe(200);
    expect(headed.json<{ conversations: { conversationId: string }[] }>().conversations).toMatchObject([
      { conversationId: dm.body.conversationId },
    ]);

    // Well formed, but beyond anything written: no read model gets there.
    const ahead = `${'f'.repeat(15)}0-${'0'.repeat(16)}`;
    const started = Date.now();
    const behind = await standby.inject({
      method: 'GET',
      url: `/conversations?after=${ahead}`,
      headers: { authorization: `Bearer ${bob.token}` },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(READ_YOUR_WRITES_MS - 100);
    expect(behind.statusCode).toBe(503);
    expect(behind.headers['retry-after']).toBe('1');
    expect(behind.json<{ error: { code: string } }>().error.code).toBe('PROJECTIONS.BEHIND');
    const garbled = await standby.inject({
      method: 'GET',
      url: '/conversations?after=nope',
      headers: { authorization: `Bearer ${bob.token}` },
    });
    expect(garbled.statusCode).toBe(400);
  });
});
