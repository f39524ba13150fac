/**
 * A read model rebuilt while users chat (ADR 034): the rebuild runs beside a running Herald
 * (as `herald projections rebuild` does, on connections of its own), messages keep coming
 * and queries keep being answered; no query fails, no answer goes backwards, the running
 * Herald follows the switch, and the rebuilt tables are what a replay gives.
 */
import { PostgresEventStore } from '@herald/event-store';
import {
  checkReplay,
  createReadModelDataSource,
  dropExpiredGenerations,
  listGenerations,
  rebuild,
  type RebuildResult,
} from '@herald/projection-runtime';
import { INBOX, MEMBERSHIP, READ_MODELS, tablePrefix, TIMELINE } from '@herald/projections';
import { eventually, freshDatabase } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from './test-app.js';
import { apiOf } from './test-client.js';

let app: NestFastifyApplication;
let databaseUrl: string;
let db: DataSource;
let store: PostgresEventStore;

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  app = await testApp({}, databaseUrl);
  db = await createReadModelDataSource({ url: databaseUrl, poolSize: 4 }).initialize();
  store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 2 });
});
afterAll(async () => {
  await store?.close();
  await db?.destroy();
  await app?.close();
});

const target = (name: string) => {
  const readModel = READ_MODELS.find((m) => m.name === name)!;
  return { projection: readModel.projection(), tablePrefix: tablePrefix(readModel) };
};

async function send(user: TestUser, id: string, text: string): Promise<{ seq: number; checkpoint: string }> {
  const sent = await apiOf(app, user).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text },
  });
  expect(sent.response.status).toBe(201);
  return { seq: sent.data!.seq, checkpoint: sent.data!.checkpoint! };
}

describe('rebuilding read models while users chat', () => {
  it('switches timeline, inbox and membership with no failed query and no answer going backwards', async () => {
    const [ada, bob] = await Promise.all([signUp(app, 'ada'), signUp(app, 'bob')]);
    const group = await apiOf(app, ada).POST('/conversations/groups', {
      body: { name: 'rebuild', memberIds: [bob.userId] },
    });
    expect(group.response.status).toBe(201);
    const id = group.data!.conversationId;
    for (let i = 0; i < 40; i++) await send(ada, id, `before ${i}`);

    let sending = true;
    let sent = 0;
    let lastCheckpoint = '';
    const sender = (async () => {
      while (sending) {
        lastCheckpoint = (await send(ada, id, `during ${sent}`)).checkpoint;
        sent++;
      }
    })();
    const failures: string[] = [];
    const backwards: string[] = [];
    let queries = 0;
    const reader = (async () => {
      let longest = 0;
      let newest = 0;
      let unread = 0;
      while (sending) {
        const page = await apiOf(app, bob).GET('/conversations/{id}/messages', {
          params: { path: { id }, query: { limit: '100' } },
        });
        const inbox = await apiOf(app, bob).GET('/conversations');
        queries += 2;
        if (page.response.status !== 200) failures.push(`timeline ${page.response.status}`);
        if (inbox.response.status !== 200) failures.push(`inbox ${inbox.response.status}`);
        const messages = page.data?.messages ?? [];
        const top = Math.max(0, ...messages.map((m) => m.seq));
        if (messages.length < longest) backwards.push(`timeline page ${messages.length} < ${longest}`);
        if (top < newest) backwards.push(`newest seq ${top} < ${newest}`);
        longest = Math.max(longest, messages.length);
        newest = Math.max(newest, top);
        const row = inbox.data?.conversations.find((c) => c.conversationId === id);
        if (!row) failures.push('the group is missing from the inbox');
        else {
          if (row.unreadCount < unread) backwards.push(`unread ${row.unreadCount} < ${unread}`);
          unread = Math.max(unread, row.unreadCount);
        }
      }
    })();

    const results: RebuildResult[] = [];
    try {
      for (const name of [TIMELINE, INBOX, MEMBERSHIP])
        results.push(await rebuild(store, db, target(name), { graceMs: 60_000, batchSize: 50 }));
    } finally {
      sending = false;
      await Promise.all([sender, reader]);
    }
    expect(failures).toEqual([]);
    expect(backwards).toEqual([]);
    expect(queries).toBeGreaterThan(10);
    expect(sent).toBeGreaterThan(0);
    expect(results.map((r) => [r.name, r.generation])).toEqual([
      [TIMELINE, 2],
      [INBOX, 2],
      [MEMBERSHIP, 2],
    ]);

    // The running Herald follows the switch: what is sent now reaches the new tables.
    const after = await send(ada, id, 'after the switch');
    const page = await apiOf(app, bob).GET('/conversations/{id}/messages', {
      params: { path: { id }, query: { limit: '100', after: after.checkpoint } },
    });
    expect(page.response.status).toBe(200);
    expect(page.data!.messages.length).toBe(Math.min(100, 40 + sent + 1));
    expect(page.data!.messages[0]).toMatchObject({ seq: after.seq, text: 'after the switch' });
    expect(lastCheckpoint <= after.checkpoint).toBe(true);

    // The new generations serve; the old ones wait in their retired schemas for the grace period.
    const generations = await listGenerations(db);
    expect(generations.filter((g) => g.state === 'serving').map((g) => g.name)).toEqual([INBOX, MEMBERSHIP, TIMELINE]);
    expect(generations.filter((g) => g.state === 'retired').map((g) => g.schema)).toEqual([
      'herald_retired_inbox_v1_g1',
      'herald_retired_membership_v1_g1',
      'herald_retired_timeline_v1_g1',
    ]);
    expect(await dropExpiredGenerations(db)).toEqual([]);
    await db.query(`UPDATE herald_read_model_generations SET drop_after = now() WHERE state = 'retired'`);
    expect((await dropExpiredGenerations(db)).sort()).toEqual([
      'herald_retired_inbox_v1_g1',
      'herald_retired_membership_v1_g1',
      'herald_retired_timeline_v1_g1',
    ]);
    const schemas = await db.query<{ nspname: string }[]>(
      `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'herald_')`,
    );
    expect(schemas).toEqual([]);

    // And the rebuilt tables are what a replay from position 0 gives, row for row.
    await eventually(async () => {
      const check = await checkReplay(store, db, target(TIMELINE));
      return check.identical && check.tables.some((t) => t.rows >= 40 + sent + 1);
    });
    for (const name of [INBOX, MEMBERSHIP]) expect((await checkReplay(store, db, target(name))).identical).toBe(true);
  });
});
