/**
 * The dispatcher against a real PostgreSQL: what a committed batch hands over is sent from
 * memory (its outbox row leased, so no read of the outbox sends it again), what the outbox
 * holds due is claimed and sent, a new active instance takes over what a previous one was
 * handed, and a notification both handed over and due is sent once.
 */
import { migrateDatabase } from '@herald/database';
import { eventually, freshDatabase } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Devices, type TransactionalSql } from './devices.js';
import type { Notification, Outcome, PushAdapter } from './gateway.js';
import { Dispatcher, LEASE_MS } from './notifier.js';
import { NOTIFICATION_MIGRATIONS } from './schema.js';
import type { Target } from './targets.js';

let pool: pg.Pool;
const db: TransactionalSql = {
  query: async (sql, parameters) => (await pool.query(sql, parameters)).rows as unknown[],
  transaction: async (work) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async (sql, parameters) => (await client.query(sql, parameters)).rows as unknown[],
      });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  },
};

/** Records every notification it is given; answers delivered. */
class Recorder implements PushAdapter {
  readonly kind = 'webhook';
  readonly sent: Notification[] = [];
  send(_target: Target, notification: Notification): Promise<Outcome> {
    this.sent.push(notification);
    return Promise.resolve({ kind: 'delivered' });
  }
}

const target: Target = { kind: 'webhook', url: 'https://bot.example/hook' };
let deviceId: string;

function notification(): Notification {
  return {
    id: `${randomUUID()}:${deviceId}`,
    type: 'message',
    conversationId: randomUUID(),
    messageId: randomUUID(),
    seq: 1,
    senderId: randomUUID(),
    count: 1,
    mentioned: false,
    sentAt: new Date().toISOString(),
  };
}

/** Outbox rows, due now or leased for LEASE_MS (as a committed batch leaves them for the dispatcher). */
async function queue(notifications: readonly Notification[], leased: boolean): Promise<void> {
  await pool.query(
    `INSERT INTO notify_outbox (key, device_id, payload, due_at)
     SELECT k, $2, p, now() + $4 * interval '1 millisecond' FROM unnest($1::text[], $3::jsonb[]) AS t(k, p)`,
    [notifications.map((n) => n.id), deviceId, notifications.map((n) => JSON.stringify(n)), leased ? LEASE_MS : 0],
  );
}

const rowsOf = (notifications: readonly Notification[]) =>
  notifications.map((n) => ({ key: n.id, device_id: deviceId, payload: n, attempts: 0, target }));

async function outboxSize(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM notify_outbox');
  return rows[0]!.n;
}

function dispatcher(recorder: Recorder, active: () => boolean = () => true): Dispatcher {
  return new Dispatcher({
    db,
    devices: new Devices(db),
    adapters: new Map([['webhook', recorder]]),
    active,
    collapseSeconds: 0,
    maxAttempts: 3,
    retryInitialMs: 10,
    log: () => undefined,
  });
}

beforeAll(async () => {
  const url = await freshDatabase();
  await migrateDatabase(url, NOTIFICATION_MIGRATIONS);
  pool = new pg.Pool({ connectionString: url, max: 4 });
});
afterAll(async () => {
  await pool.end();
});
beforeEach(async () => {
  await pool.query('TRUNCATE notify_outbox, notify_devices');
  deviceId = randomUUID();
  await pool.query(
    `INSERT INTO notify_devices (device_id, user_id, kind, target, target_hash) VALUES ($1, $2, 'webhook', $3, $4)`,
    [deviceId, randomUUID(), target, randomUUID()],
  );
});

describe('the dispatcher', () => {
  it('sends what a committed batch hands over, and what the outbox holds due, each once, and deletes them', async () => {
    const recorder = new Recorder();
    const d = dispatcher(recorder);
    d.start();
    try {
      const handed = Array.from({ length: 300 }, notification);
      const due = Array.from({ length: 300 }, notification);
      await queue(handed, true);
      await queue(due, false);
      expect(d.hasRoom()).toBe(true);
      d.take(rowsOf(handed));
      await eventually(() => recorder.sent.length >= 600);
      await eventually(async () => (await outboxSize()) === 0);
      const ids = recorder.sent.map((n) => n.id);
      expect(new Set(ids).size).toBe(600);
      expect(new Set(ids)).toEqual(new Set([...handed, ...due].map((n) => n.id)));
    } finally {
      await d.stop();
    }
  });

  it('a notification handed over while also due (a batch committed at take-over) is sent once', async () => {
    const recorder = new Recorder();
    const d = dispatcher(recorder);
    const both = Array.from({ length: 50 }, notification);
    await queue(both, false);
    d.take(rowsOf(both));
    d.start();
    try {
      await eventually(async () => (await outboxSize()) === 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(recorder.sent.map((n) => n.id).sort()).toEqual(both.map((n) => n.id).sort());
    } finally {
      await d.stop();
    }
  });

  it('what a previous instance was handed (leased, never tried) is sent at once by the one that takes over', async () => {
    const orphaned = Array.from({ length: 20 }, notification);
    await queue(orphaned, true);
    // A retry scheduled for later stays scheduled: it is not the previous instance's lease.
    const later = notification();
    await pool.query(
      `INSERT INTO notify_outbox (key, device_id, payload, attempts, due_at) VALUES ($1, $2, $3, 1, now() + interval '1 hour')`,
      [later.id, deviceId, JSON.stringify(later)],
    );
    const recorder = new Recorder();
    let active = false;
    const d = dispatcher(recorder, () => active);
    d.start();
    try {
      // Standing by: sends nothing, and takes nothing over.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(recorder.sent).toEqual([]);
      expect(d.hasRoom()).toBe(true);
      active = true;
      await eventually(() => recorder.sent.length === orphaned.length, 5_000);
      expect(recorder.sent.map((n) => n.id).sort()).toEqual(orphaned.map((n) => n.id).sort());
      await eventually(async () => (await outboxSize()) === 1);
    } finally {
      await d.stop();
    }
  });

  it('a notification is sent with its fields in one order, whichever way it reached the dispatcher', async () => {
    const recorder = new Recorder();
    const d = dispatcher(recorder);
    const n = { ...notification(), preview: 'hello' };
    // Keys out of order, as the outbox's jsonb gives them back.
    const shuffled = Object.fromEntries(Object.entries(n).reverse()) as unknown as Notification;
    d.start();
    try {
      d.take(rowsOf([shuffled]));
      await eventually(() => recorder.sent.length === 1);
      expect(Object.keys(recorder.sent[0]!)).toEqual([
        'id',
        'type',
        'conversationId',
        'messageId',
        'seq',
        'senderId',
        'count',
        'mentioned',
        'sentAt',
        'preview',
      ]);
    } finally {
      await d.stop();
    }
  });

  it('a stopped dispatcher takes nothing: a batch then leaves its notifications due in the outbox', async () => {
    const d = dispatcher(new Recorder());
    expect(d.hasRoom()).toBe(false);
    d.start();
    await d.stop();
    expect(d.hasRoom()).toBe(false);
  });
});
