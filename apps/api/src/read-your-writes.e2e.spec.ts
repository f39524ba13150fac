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
import { READ_YOUR_WRITES_MS } from '@herald/nest';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';

let active: NestFastifyApplication;
let standby: NestFastifyApplication;

async function states(app: NestFastifyApplication): Promise<string[]> {
  // 200 when ready, 503 (the same report) while a projection is not.
  const { data, error } = await apiOf(app).GET('/health');
  const report = data ?? (error !== undefined && 'projections' in error ? error : undefined);
  return report?.projections.map((p) => p.state) ?? ['unanswered'];
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

describe('read-your-writes on an instance that does not run the projections', () => {
  it('a command on one instance, then a query with ?after= on the other, sees the write', async () => {
    const [ada, bob] = await Promise.all([signUp(active, 'ada'), signUp(active, 'bob')]);
    const dm = await apiOf(active, ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    expect(dm.response.status).toBe(201);
    const id = dm.data!.conversationId;
    const sent = await apiOf(active, ada).POST('/conversations/{id}/messages', {
      params: { path: { id } },
      body: { clientMessageId: randomUUID(), text: 'hello from the other instance' },
    });
    expect(sent.response.status).toBe(201);
    const after = sent.data!.checkpoint!;

    const page = await apiOf(standby, bob).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { after } },
    });
    expect(page.response.status).toBe(200);
    expect(page.data!.messages).toMatchObject([
      { seq: sent.data!.seq, text: 'hello from the other instance', senderId: ada.userId },
    ]);
    const inbox = await apiOf(standby, bob).GET('/conversations', { params: { query: { after } } });
    expect(inbox.response.status).toBe(200);
    expect(inbox.data!.conversations.find((c) => c.conversationId === id)).toMatchObject({ unreadCount: 1 });

    // The standby answered from the active instance's work; it did not take over.
    expect(await states(standby)).toEqual((await states(active)).map(() => 'standby'));
    // Its /health reports where the shared read models are, not where it would be itself.
    const health = await apiOf(standby).GET('/health');
    for (const projection of health.data!.projections) {
      expect(projection.checkpoint).not.toBe(START);
    }
  });

  it('the checkpoint may come as the x-herald-after header; one the read models do not reach in time is 503 with Retry-After', async () => {
    const [ada, bob] = await Promise.all([signUp(active, 'ada'), signUp(active, 'bob')]);
    const dm = await apiOf(active, ada).POST('/conversations/direct', { body: { userId: bob.userId } });
    const checkpoint = dm.data!.checkpoint!;
    // The directory projection skips the conversation's event: nothing of it is missing either.
    const viaQuery = await apiOf(standby, bob).GET('/conversations', { params: { query: { after: checkpoint } } });
    expect(viaQuery.response.status).toBe(200);
    const headed = await apiOf(standby, bob).GET('/conversations', { headers: { 'x-herald-after': checkpoint } });
    expect(headed.response.status).toBe(200);
    expect(headed.data!.conversations).toMatchObject([{ conversationId: dm.data!.conversationId }]);

    // Well formed, but beyond anything written: no read model gets there.
    const ahead = `${'f'.repeat(15)}0-${'0'.repeat(16)}`;
    const started = Date.now();
    const behind = await apiOf(standby, bob).GET('/conversations', { params: { query: { after: ahead } } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(READ_YOUR_WRITES_MS - 100);
    expect(behind.response.status).toBe(503);
    expect(behind.response.headers.get('retry-after')).toBe('1');
    expect(behind.error?.error.code).toBe('PROJECTIONS.BEHIND');
    const garbled = await apiOf(standby, bob).GET('/conversations', { params: { query: { after: 'nope' } } });
    expect(garbled.response.status).toBe(400);
  });
});
