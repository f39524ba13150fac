/**
 * Offline notifications end to end on the embedded default: devices over HTTP, and the
 * notifier sending to a webhook on loopback (a bot) as members send messages.
 */
import { eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { hangUp, listen, openSocket } from '../test-socket.js';
import { startReceiver, type Receiver } from './receiver.testing.js';

const SECRET = 'test-webhook-secret-test-webhook-secret';
const COLLAPSE_SECONDS = 2;

let app: NestFastifyApplication;
let receiver: Receiver;
let address: string;

beforeAll(async () => {
  receiver = await startReceiver(SECRET);
  app = await testApp(
    {
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOWED_HOSTS: receiver.host,
      NOTIFY_COLLAPSE_SECONDS: String(COLLAPSE_SECONDS),
      NOTIFY_RETRY_INITIAL_MS: '50',
      NOTIFY_MAX_ATTEMPTS: '30',
    },
    undefined,
    new (await import('@herald/nest')).JsonLogger('error'),
  );
  address = await listen(app);
});
afterAll(async () => {
  await app.close();
  await receiver.close();
});

const api = (who: TestUser) => apiOf(app, who);
const user = (name: string): Promise<TestUser> => signUp(app, name);

/** Registers a webhook for `who` at a path of their own; answers the path. */
async function webhook(who: TestUser): Promise<string> {
  const path = `/hook/${who.userId}`;
  const answer = await api(who).POST('/me/devices', {
    body: { kind: 'webhook', url: receiver.url(path), name: 'bot' },
  });
  expect(answer.response.status).toBe(201);
  return path;
}

async function group(owner: TestUser, members: TestUser[]): Promise<string> {
  const { data } = await api(owner).POST('/conversations/groups', {
    body: { name: 'team', memberIds: members.map((m) => m.userId) },
  });
  return data!.conversationId;
}

const send = async (who: TestUser, id: string, text: string, mentions?: string[]) => {
  const { data, response } = await api(who).POST('/conversations/{id}/messages', {
    params: { path: { id } },
    body: { clientMessageId: randomUUID(), text, ...(mentions ? { mentions: { userIds: mentions, all: false } } : {}) },
  });
  expect(response.status).toBe(201);
  return data!;
};

/** What `who`'s webhook (registered by `webhook`) accepted. */
const forUser = (who: TestUser) => receiver.received.filter((r) => r.path === `/hook/${who.userId}`);

describe('devices', () => {
  it('registers, lists, recognises the same target again, and removes, showing no target in full', async () => {
    const ada = await user('ada');
    const url = receiver.url(`/secret-path-${randomUUID()}`);
    const first = await api(ada).POST('/me/devices', { body: { kind: 'webhook', url } });
    expect(first.response.status).toBe(201);
    expect(first.data).toMatchObject({ kind: 'webhook', name: null, target: `http://${receiver.host}` });
    const again = await api(ada).POST('/me/devices', { body: { kind: 'webhook', url, name: 'renamed' } });
    expect(again.data).toMatchObject({ deviceId: first.data!.deviceId, name: 'renamed' });
    const list = await api(ada).GET('/me/devices');
    expect(list.data!.devices).toEqual([again.data]);
    expect(JSON.stringify(list.data)).not.toContain('secret-path');

    const bob = await user('bob');
    const notHis = await api(bob).DELETE('/me/devices/{deviceId}', {
      params: { path: { deviceId: first.data!.deviceId } },
    });
    expect(notHis.response.status).toBe(404);
    expect(notHis.error).toMatchObject({ error: { code: 'DEVICE.NOT_FOUND' } });
    const removed = await api(ada).DELETE('/me/devices/{deviceId}', {
      params: { path: { deviceId: first.data!.deviceId } },
    });
    expect(removed.response.status).toBe(204);
    expect((await api(ada).GET('/me/devices')).data!.devices).toEqual([]);
  });

  it('refuses URLs that could reach the server’s own network, kinds that are off, and an eleventh device', async () => {
    const ada = await user('ada');
    for (const url of [
      'http://example.com/hook',
      'https://127.0.0.1/hook',
      'https://10.1.2.3/hook',
      'https://[::1]/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://localhost/hook',
      'https://user:pass@example.com/hook',
      'ftp://example.com/hook',
      `https://example.com/${'x'.repeat(2_100)}`,
    ]) {
      const refused = await api(ada).POST('/me/devices', { body: { kind: 'webhook', url } });
      expect(refused.response.status, url).toBe(400);
      expect(refused.error).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    }
    const fcm = await api(ada).POST('/me/devices', { body: { kind: 'fcm', token: 'abc:def' } });
    expect(fcm.response.status).toBe(400);
    expect(fcm.error).toMatchObject({ error: { code: 'DEVICE.UNSUPPORTED' } });
    for (let i = 0; i < 10; i++) {
      const ok = await api(ada).POST('/me/devices', { body: { kind: 'webhook', url: receiver.url(`/n${i}`) } });
      expect(ok.response.status).toBe(201);
    }
    const eleventh = await api(ada).POST('/me/devices', { body: { kind: 'webhook', url: 'https://example.com/11' } });
    expect(eleventh.response.status).toBe(409);
    expect(eleventh.error).toMatchObject({ error: { code: 'DEVICE.TOO_MANY' } });
  });

  it('keeps previews off until the user turns them on, and says which kinds this server notifies', async () => {
    const ada = await user('ada');
    expect((await api(ada).GET('/me/notification-settings')).data).toEqual({
      previews: false,
      kinds: ['webhook'],
      webPushPublicKey: null,
    });
    const on = await api(ada).PUT('/me/notification-settings', { body: { previews: true } });
    expect(on.data?.previews).toBe(true);
    expect((await api(ada).GET('/me/notification-settings')).data?.previews).toBe(true);
  });
});

describe('the notifier', () => {
  it('notifies an offline member once per message, an online one never, a muted one only when mentioned, the sender never', async () => {
    const [ada, off, on, muted] = await Promise.all([user('ada'), user('off'), user('on'), user('muted')]);
    for (const who of [ada, off, on, muted]) await webhook(who);
    const socket = await openSocket(address, on.token);
    const id = await group(ada, [off, on, muted]);
    await api(muted).PUT('/conversations/{id}/mute', { params: { path: { id } }, body: { muted: true } });

    const hello = await send(ada, id, 'hello all');
    await eventually(() => forUser(off).length === 1);
    const mention = await send(ada, id, 'muted, look', [muted.userId]);
    await eventually(() => forUser(muted).length === 1);
    // The first two of `off` are a window apart or collapsed: wait for the window to pass.
    await eventually(() => forUser(off).length === 2, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const first = forUser(off)[0]!.body;
    expect(first).toMatchObject({
      type: 'message',
      conversationId: id,
      messageId: hello.messageId,
      seq: hello.seq,
      senderId: ada.userId,
      count: 1,
      mentioned: false,
    });
    expect(first).not.toHaveProperty('preview');
    expect(forUser(off)[1]!.body).toMatchObject({ messageId: mention.messageId, count: 1 });
    expect(forUser(muted).map((r) => r.body)).toMatchObject([{ messageId: mention.messageId, mentioned: true }]);
    expect(forUser(on)).toEqual([]);
    expect(forUser(ada)).toEqual([]);
    for (const r of receiver.received) {
      expect(r.idempotencyKey).toBe(r.id);
      expect(r.raw).not.toContain('hello all');
    }
    expect(receiver.badSignatures).toBe(0);
    await hangUp(socket);
  });

  it('collapses a burst into one notification with its count, and carries a preview only where allowed', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    await webhook(bob);
    await api(bob).PUT('/me/notification-settings', { body: { previews: true } });
    const id = await group(ada, [bob]);
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push(await send(ada, id, `burst ${i} ${'é'.repeat(200)}`));
    await eventually(() => forUser(bob).length === 2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, COLLAPSE_SECONDS * 1000 + 500));
    const got = forUser(bob).map((r) => r.body);
    expect(got).toHaveLength(2);
    expect(got[0]).toMatchObject({ messageId: sent[0]!.messageId, count: 1 });
    expect(got[1]).toMatchObject({ messageId: sent[4]!.messageId, seq: sent[4]!.seq, count: 4 });
    expect(String(got[1]!.preview)).toBe(`burst 4 ${'é'.repeat(92)}…`);
  });

  it('a device goes with the session that registered it: a phone signed out from another device is notified no more', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const { data: me } = await api(bob).GET('/me');
    // Bob's phone signs in and registers its push target; his laptop (his first session) stays.
    const phone = await app.inject({
      method: 'POST',
      url: '/auth/sign-in',
      payload: { username: me!.username, password: 'password-1', deviceName: 'phone' },
    });
    const { accessToken, sessionId } = phone.json<{ accessToken: string; sessionId: string }>();
    const onPhone: TestUser = { userId: bob.userId, token: accessToken };
    const phonePath = `/hook/phone-${bob.userId}`;
    const registered = await api(onPhone).POST('/me/devices', {
      body: { kind: 'webhook', url: receiver.url(phonePath) },
    });
    expect(registered.response.status).toBe(201);
    const laptopPath = await webhook(bob);
    const id = await group(ada, [bob]);
    await send(ada, id, 'before');
    await eventually(() => receiver.received.some((r) => r.path === phonePath));

    // The phone is stolen: bob signs it out from the laptop.
    const revoked = await api(bob).DELETE('/me/sessions/{sessionId}', { params: { path: { sessionId } } });
    expect(revoked.response.status).toBe(200);
    await eventually(async () => {
      const { data } = await api(bob).GET('/me/devices');
      return data!.devices.length === 1;
    });
    const atRevocation = receiver.received.filter((r) => r.path === phonePath).length;
    await new Promise((resolve) => setTimeout(resolve, COLLAPSE_SECONDS * 1000 + 200));
    const after = await send(ada, id, 'after the phone was signed out');
    await eventually(() =>
      receiver.received.some((r) => r.path === laptopPath && r.body.messageId === after.messageId),
    );
    expect(receiver.received.filter((r) => r.path === phonePath)).toHaveLength(atRevocation);
  });

  it('removes a device whose webhook answers 410 Gone', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const path = await webhook(bob);
    const before = receiver.answer;
    receiver.answer = (request) => (request.path === path ? 410 : before(request));
    const id = await group(ada, [bob]);
    await send(ada, id, 'anyone there?');
    await eventually(async () => (await api(bob).GET('/me/devices')).data!.devices.length === 0);
    expect(forUser(bob)).toEqual([]);
    receiver.answer = before;
  });

  it('a webhook that fails, then recovers, gets every notification', async () => {
    const [ada, bob] = await Promise.all([user('ada'), user('bob')]);
    const path = await webhook(bob);
    // Down for a while: every request to bob's path answers 503 until it recovers.
    let down = true;
    let failed = 0;
    const before = receiver.answer;
    receiver.answer = (request) => {
      if (!down || request.path !== path) return 204;
      failed++;
      return 503;
    };
    const id = await group(ada, [bob]);
    const sends = [];
    // Each in its own collapse window per conversation: one conversation per message.
    for (let i = 0; i < 5; i++) {
      const c = i === 0 ? id : await group(ada, [bob]);
      sends.push(await send(ada, c, `down ${i}`));
    }
    await eventually(() => failed >= 10, 10_000);
    down = false;
    await eventually(() => new Set(forUser(bob).map((r) => r.body.messageId)).size === 5, 20_000);
    expect(new Set(forUser(bob).map((r) => r.body.messageId))).toEqual(new Set(sends.map((s) => s.messageId)));
    receiver.answer = before;
  });
});
