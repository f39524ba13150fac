/**
 * The notifier in a process of its own (as the scaled setup runs it), killed with SIGKILL
 * in the middle of its deliveries and started again: nothing is lost, and what it sent
 * again carries the same idempotency key and body, so a receiver that deduplicates by key
 * (as README "Notifications" asks) handles every notification once. Needs `npm run build`
 * first (`npm test` does it).
 */
import { freshDatabase, eventually } from '@herald/testing';
import { JsonLogger } from '@herald/nest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { startReceiver, type Receiver } from './receiver.testing.js';

const MAIN = fileURLToPath(new URL('../../../../dist/apps/notifier/src/main.js', import.meta.url));
const SECRET = 'kill-test-webhook-secret-kill-test-webhook';

let app: NestFastifyApplication;
let receiver: Receiver;
let databaseUrl: string;
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startNotifier(): Promise<ChildProcess> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NOTIFY_')));
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...base,
      DATABASE_URL: databaseUrl,
      PORT: String(await freePort()),
      LOG_LEVEL: 'error',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOWED_HOSTS: receiver.host,
      NOTIFY_COLLAPSE_SECONDS: '0',
      NOTIFY_RETRY_INITIAL_MS: '50',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  databaseUrl = await freshDatabase();
  // The API takes the devices (the same webhook settings); the notifier runs in the child.
  app = await testApp(
    { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_HOSTS: receiver.host },
    databaseUrl,
    new JsonLogger('fatal'),
    {
      notifier: false,
    },
  );
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await app.close();
  await receiver.close();
});

describe('a notifier killed with kill -9 and started again', () => {
  it('loses nothing, and sends again only what was in flight, under the same key and body', async () => {
    const ada = await signUp(app, 'ada');
    const offline: TestUser[] = [];
    for (let i = 0; i < 8; i++) offline.push(await signUp(app, `off${i}`));
    for (const who of offline) {
      const { response } = await apiOf(app, who).POST('/me/devices', {
        body: { kind: 'webhook', url: receiver.url(`/hook/${who.userId}`) },
      });
      expect(response.status).toBe(201);
    }
    const { data } = await apiOf(app, ada).POST('/conversations/groups', {
      body: { name: 'many', memberIds: offline.map((u) => u.userId) },
    });
    const id = data!.conversationId;
    // Slow answers, so that the kill lands while deliveries are in flight.
    receiver.delayMs = 20;

    const first = await startNotifier();
    const messages: string[] = [];
    for (let i = 0; i < 60; i++) {
      const sent = await apiOf(app, ada).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text: `message ${i}` },
      });
      messages.push(sent.data!.messageId);
    }
    const expected = messages.length * offline.length;
    await eventually(() => receiver.received.length >= expected / 4, 30_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const atKill = receiver.received.length;
    expect(atKill).toBeLessThan(expected);

    await startNotifier();
    await eventually(() => new Set(receiver.received.map((r) => r.id)).size === expected, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const byId = new Map<string, string[]>();
    for (const r of receiver.received) byId.set(r.id, [...(byId.get(r.id) ?? []), r.raw]);
    // Every (message, member) once, none missing, none extra.
    const got = new Set(receiver.received.map((r) => `${String(r.body.messageId)} ${r.path}`));
    expect(got.size).toBe(expected);
    expect(byId.size).toBe(expected);
    // What came twice was in flight at the kill: the same notification, byte for byte.
    const again = [...byId.values()].filter((bodies) => bodies.length > 1);
    for (const bodies of again) expect(new Set(bodies).size).toBe(1);
    expect(receiver.received.length - expected).toBe(again.reduce((n, b) => n + b.length - 1, 0));
    console.info(
      `[notifier kill -9] ${expected} notifications, ${atKill} before the kill, ${again.length} sent again (in flight)`,
    );
  });
});
