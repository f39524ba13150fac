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
});
