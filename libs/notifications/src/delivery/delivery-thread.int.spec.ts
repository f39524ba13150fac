/**
 * The delivery thread: notifications sent through it reach a webhook endpoint signed as the
 * webhook adapter signs them, and its answers come back as the adapter's outcomes; once
 * closed, it answers "retry" (the outbox keeps what was not delivered).
 */
import type { NotificationsConfig } from '@herald/config';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../gateway.js';
import { DeliveryThread } from './delivery-thread-client.js';

const SECRET = 'delivery-thread-secret';
let server: Server;
let host: string;
const received: { path: string; body: string; signature: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        signature: String(req.headers['herald-signature']),
      });
      res.writeHead(req.url === '/gone' ? 410 : 204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const config = (): NotificationsConfig => ({
  collapseSeconds: 0,
  maxAttempts: 3,
  retryInitialMs: 10,
  allowedHosts: [host],
  webhook: { secret: SECRET },
  webPush: undefined,
  fcm: undefined,
  apns: undefined,
});

const notification = (n: number): Notification => ({
  id: `event-${n}:device`,
  type: 'message',
  conversationId: '5f0e4c8a-0000-4000-8000-000000000003',
  messageId: '1a2b3c4d-0000-4000-8000-000000000004',
  seq: n,
  senderId: '0a1b2c3d-0000-4000-8000-000000000005',
  count: 1,
  mentioned: false,
  sentAt: '2026-12-07T12:00:00.000Z',
});

describe('the delivery thread', () => {
  it('sends through the adapters the configuration enables, and answers their outcomes', async () => {
    const logs: string[] = [];
    const thread = new DeliveryThread(config(), (_level, message) => logs.push(message));
    const adapters = thread.adapters();
    expect([...adapters.keys()]).toEqual(['webhook']);
    const webhook = adapters.get('webhook')!;
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, (_, n) =>
          webhook.send({ kind: 'webhook', url: `http://${host}/bot` }, notification(n)),
        ),
      );
      expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
      const mine = received.filter((r) => r.path === '/bot');
      expect(mine).toHaveLength(200);
      for (const r of mine) {
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(r.signature) ?? [];
        expect(createHmac('sha256', SECRET).update(`${t}.${r.body}`).digest('hex')).toBe(v1);
      }
      expect(await webhook.send({ kind: 'webhook', url: `http://${host}/gone` }, notification(1))).toMatchObject({
        kind: 'unregister',
      });
      // The adapters that are off are said in the log, from the thread.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(logs.some((m) => m.includes('Web Push is off'))).toBe(true);
    } finally {
      await webhook.close!();
    }
    expect(await webhook.send({ kind: 'webhook', url: `http://${host}/bot` }, notification(9))).toMatchObject({
      kind: 'retry',
    });
  });
});
