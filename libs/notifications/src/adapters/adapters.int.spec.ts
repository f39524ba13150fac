/**
 * The push-gateway adapters against local servers speaking each service's documented HTTP
 * API: Web Push (the payload decrypts, RFC 8291, with the VAPID JWT checked), FCM HTTP v1
 * (OAuth token exchange, request shape, error codes), APNs (HTTP/2, ES256 provider token,
 * headers, reasons) and webhooks (signature, statuses). Each service's answers map to
 * delivered, retry, drop or unregister.
 */
import { createECDH, createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2Server, type IncomingHttpHeaders } from 'node:http2';
import ece from 'http_ece';
import { createLocalJWKSet, exportJWK, importSPKI, jwtVerify, type JWK } from 'jose';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notification } from '../gateway.js';
import { ApnsAdapter } from './apns.js';
import { FcmAdapter } from './fcm.js';
import { SafeHttp } from './http.js';
import { topicOf, WebPushAdapter } from './web-push.js';
import { WebhookAdapter } from './webhook.js';

const notification: Notification = {
  id: '7d1c0f9e-0000-4000-8000-000000000001:9b2f0a1e-0000-4000-8000-000000000002',
  type: 'message',
  conversationId: '5f0e4c8a-0000-4000-8000-000000000003',
  messageId: '1a2b3c4d-0000-4000-8000-000000000004',
  seq: 7,
  senderId: '0a1b2c3d-0000-4000-8000-000000000005',
  count: 3,
  mentioned: true,
  sentAt: '2026-12-07T12:00:00.000Z',
};

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'] | IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A loopback HTTP/1.1 server answering with `handle`; records every request. */
async function httpStub(handle: (seen: Seen, response: ServerResponse) => void): Promise<{
  server: Server;
  origin: string;
  host: string;
  seen: Seen[];
}> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const s = { method: request.method!, url: request.url!, headers: request.headers, body: Buffer.concat(chunks) };
      seen.push(s);
      handle(s, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { server, origin: `http://${host}`, host, seen };
}

const closeAll: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closeAll) await close();
});
const closing = (server: Server | Http2Server): void => {
  closeAll.push(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
};

describe('Web Push (VAPID, aes128gcm)', () => {
  const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' };
  const browser = createECDH('prime256v1');
  browser.generateKeys();
  const authSecret = randomBytes(16).toString('base64url');
  let stub: Awaited<ReturnType<typeof httpStub>>;
  let adapter: WebPushAdapter;
  let status = 201;

  beforeAll(async () => {
    stub = await httpStub((_seen, response) => response.writeHead(status, { 'retry-after': '9' }).end());
    closing(stub.server);
    adapter = new WebPushAdapter(vapid, new SafeHttp({ allowedHosts: [stub.host] }));
  });

  const target = () => ({
    kind: 'webpush' as const,
    endpoint: `${stub.origin}/push/abc`,
    keys: { p256dh: browser.getPublicKey().toString('base64url'), auth: authSecret },
  });

  it('sends a payload only the browser can decrypt, with a VAPID token for the endpoint’s origin', async () => {
    status = 201;
    expect(await adapter.send(target(), { ...notification, preview: 'hi there' })).toEqual({ kind: 'delivered' });
    const request = stub.seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/push/abc');
    expect(request.headers['content-encoding']).toBe('aes128gcm');
    expect(request.headers.ttl).toBe('86400');
    expect(request.headers.urgency).toBe('high');
    expect(request.headers.topic).toBe(topicOf(notification.conversationId));
    // Authorization: vapid t=<JWT ES256>, k=<the server's public key>.
    const [, jwt, k] = /^vapid t=([^,]+), k=(.+)$/.exec(String(request.headers.authorization)) ?? [];
    expect(k).toBe(vapid.publicKey);
    const point = Buffer.from(vapid.publicKey, 'base64url');
    const jwk: JWK = {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
    };
    const { payload } = await jwtVerify(jwt!, createLocalJWKSet({ keys: [jwk] }), { audience: stub.origin });
    expect(payload.sub).toBe('mailto:ops@example.com');
    // The body decrypts with the browser's private key and auth secret (RFC 8291).
    const plain = ece.decrypt(request.body, { version: 'aes128gcm', privateKey: browser, authSecret });
    expect(JSON.parse(plain.toString('utf8'))).toEqual({
      ...notification,
      preview: 'hi there',
      title: '3 new messages (mentioned)',
      body: 'hi there',
    });
    expect(request.body.includes(Buffer.from('hi there'))).toBe(false);
  });

  it('maps the push service’s answers: gone, later, refused', async () => {
    status = 410;
    expect((await adapter.send(target(), notification)).kind).toBe('unregister');
    status = 404;
    expect((await adapter.send(target(), notification)).kind).toBe('unregister');
    status = 429;
    expect(await adapter.send(target(), notification)).toMatchObject({ kind: 'retry', afterMs: 9_000 });
    status = 503;
    expect((await adapter.send(target(), notification)).kind).toBe('retry');
    status = 413;
    expect((await adapter.send(target(), notification)).kind).toBe('drop');
  });

  it('refuses VAPID keys of the wrong size when built (start-up), not when sending', () => {
    expect(
      () => new WebPushAdapter({ ...vapid, privateKey: 'A'.repeat(20) }, new SafeHttp({ allowedHosts: [] })),
    ).toThrow();
  });

  it('refuses an endpoint on a private address unless allowed, without sending', async () => {
    const strict = new WebPushAdapter(vapid, new SafeHttp({ allowedHosts: [] }));
    const before = stub.seen.length;
    const outcome = await strict.send(target(), notification);
    expect(outcome.kind).toBe('unregister');
    expect(stub.seen.length).toBe(before);
  });
});

describe('FCM HTTP v1', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let stub: Awaited<ReturnType<typeof httpStub>>;
  let adapter: FcmAdapter;
  let tokensIssued = 0;

  beforeAll(async () => {
    const verifyKey = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
    stub = await httpStub((seen, response) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
      };
      if (seen.url === '/token') {
        const form = new URLSearchParams(seen.body.toString());
        expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
        void jwtVerify(form.get('assertion')!, verifyKey, {
          issuer: 'herald@p1.iam.gserviceaccount.com',
          audience: `${stub.origin}/token`,
        })
          .then(({ payload }) => {
            expect(payload.scope).toBe('https://www.googleapis.com/auth/firebase.messaging');
            json(200, { access_token: `at-${++tokensIssued}`, expires_in: 3600, token_type: 'Bearer' });
          })
          .catch(() => json(400, { error: 'invalid_grant' }));
        return;
      }
      if (seen.url !== '/v1/projects/p1/messages:send') return json(404, {});
      if (seen.headers.authorization !== `Bearer at-${tokensIssued}`) {
        return json(401, { error: { code: 401, status: 'UNAUTHENTICATED' } });
      }
      const { message } = JSON.parse(seen.body.toString()) as { message: { token: string } };
      const fcmError = (status: number, code: string, headers?: Record<string, string>) =>
        json(
          status,
          {
            error: {
              code: status,
              status: code,
              details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code }],
            },
          },
          headers,
        );
      switch (message.token) {
        case 'ok':
          return json(200, { name: 'projects/p1/messages/1' });
        case 'gone':
          return fcmError(404, 'UNREGISTERED');
        case 'mismatch':
          return fcmError(403, 'SENDER_ID_MISMATCH');
        case 'quota':
          return fcmError(429, 'QUOTA_EXCEEDED', { 'retry-after': '30' });
        case 'down':
          return fcmError(503, 'UNAVAILABLE');
        default:
          return fcmError(400, 'INVALID_ARGUMENT');
      }
    });
    closing(stub.server);
    adapter = new FcmAdapter(
      {
        projectId: 'p1',
        clientEmail: 'herald@p1.iam.gserviceaccount.com',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        tokenUri: `${stub.origin}/token`,
      },
      stub.origin,
    );
  });

  it('gets an access token once, and sends the documented message shape with string data', async () => {
    expect(await adapter.send({ kind: 'fcm', token: 'ok' }, notification)).toEqual({ kind: 'delivered' });
    expect(await adapter.send({ kind: 'fcm', token: 'ok' }, notification)).toEqual({ kind: 'delivered' });
    expect(tokensIssued).toBe(1);
    const sent = stub.seen.filter((s) => s.url.endsWith(':send')).at(-1)!;
    expect(sent.headers['content-type']).toBe('application/json');
    expect(JSON.parse(sent.body.toString())).toEqual({
      message: {
        token: 'ok',
        data: Object.fromEntries(Object.entries(notification).map(([k, v]) => [k, String(v)])),
        notification: { title: '3 new messages (mentioned)' },
        android: { collapse_key: notification.conversationId, priority: 'high' },
      },
    });
  });

  it('maps FCM’s error codes: unregister, retry (with Retry-After), drop; a refused token is fetched again', async () => {
    expect((await adapter.send({ kind: 'fcm', token: 'gone' }, notification)).kind).toBe('unregister');
    expect((await adapter.send({ kind: 'fcm', token: 'mismatch' }, notification)).kind).toBe('unregister');
    expect(await adapter.send({ kind: 'fcm', token: 'quota' }, notification)).toMatchObject({
      kind: 'retry',
      afterMs: 30_000,
    });
    expect((await adapter.send({ kind: 'fcm', token: 'down' }, notification)).kind).toBe('retry');
    expect((await adapter.send({ kind: 'fcm', token: 'malformed' }, notification)).kind).toBe('drop');
    // The server revokes the token it issued: 401, then a new token is used.
    tokensIssued++;
    expect((await adapter.send({ kind: 'fcm', token: 'ok' }, notification)).kind).toBe('retry');
    expect(await adapter.send({ kind: 'fcm', token: 'ok' }, notification)).toEqual({ kind: 'delivered' });
  });
});

describe('APNs (HTTP/2, token authentication)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let server: Http2Server;
  let adapter: ApnsAdapter;
  const seen: Seen[] = [];
  let expireNext = false;

  beforeAll(async () => {
    const jwk = await exportJWK(publicKey);
    const keys = createLocalJWKSet({ keys: [{ ...jwk, kid: 'KEYID12345', alg: 'ES256' }] });
    server = createHttp2Server();
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen.push({
          method: String(headers[':method']),
          url: String(headers[':path']),
          headers,
          body: Buffer.concat(chunks),
        });
        const answer = (status: number, reason?: string, extra: Record<string, string> = {}): void => {
          stream.respond({ ':status': status, 'apns-id': 'x', ...extra });
          stream.end(reason ? JSON.stringify({ reason }) : undefined);
        };
        const jwt = String(headers.authorization ?? '').replace(/^bearer /, '');
        void jwtVerify(jwt, keys, { issuer: 'TEAMID1234', algorithms: ['ES256'] })
          .then(() => {
            if (expireNext) {
              expireNext = false;
              return answer(403, 'ExpiredProviderToken');
            }
            const token = String(headers[':path']).split('/').at(-1)!;
            switch (token.charAt(0)) {
              case 'a':
                return answer(200);
              case 'b':
                return answer(410, 'Unregistered');
              case 'c':
                return answer(400, 'BadDeviceToken');
              case 'd':
                return answer(429, 'TooManyRequests');
              case 'e':
                return answer(503, 'ServiceUnavailable', { 'retry-after': '4' });
              default:
                return answer(413, 'PayloadTooLarge');
            }
          })
          .catch(() => answer(403, 'InvalidProviderToken'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closing(server);
    adapter = new ApnsAdapter(
      {
        key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        keyId: 'KEYID12345',
        teamId: 'TEAMID1234',
        topic: 'org.example.herald',
      },
      `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    );
    closeAll.unshift(() => adapter.close());
  });

  const token = (first: string) => `${first}${'0'.repeat(63)}`;

  it('POSTs /3/device/<token> over HTTP/2 with an ES256 provider token and the documented headers', async () => {
    expect(await adapter.send({ kind: 'apns', token: token('a') }, { ...notification, preview: 'hello' })).toEqual({
      kind: 'delivered',
    });
    const request = seen.at(-1)!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/3/device/${token('a')}`);
    expect(request.headers).toMatchObject({
      'apns-topic': 'org.example.herald',
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-collapse-id': notification.conversationId,
    });
    const { preview: _preview, ...ids } = { ...notification, preview: 'hello' };
    expect(JSON.parse(request.body.toString())).toEqual({
      aps: {
        alert: { title: '3 new messages (mentioned)', body: 'hello' },
        'thread-id': notification.conversationId,
        sound: 'default',
      },
      herald: ids,
    });
  });

  it('maps Apple’s reasons: unregister, retry (a new token when expired), drop', async () => {
    expect((await adapter.send({ kind: 'apns', token: token('b') }, notification)).kind).toBe('unregister');
    expect((await adapter.send({ kind: 'apns', token: token('c') }, notification)).kind).toBe('unregister');
    expect((await adapter.send({ kind: 'apns', token: token('d') }, notification)).kind).toBe('retry');
    expect(await adapter.send({ kind: 'apns', token: token('e') }, notification)).toMatchObject({
      kind: 'retry',
      afterMs: 4_000,
    });
    expect((await adapter.send({ kind: 'apns', token: token('f') }, notification)).kind).toBe('drop');
    expireNext = true;
    expect((await adapter.send({ kind: 'apns', token: token('a') }, notification)).kind).toBe('retry');
    expect((await adapter.send({ kind: 'apns', token: token('a') }, notification)).kind).toBe('delivered');
  });
});

describe('webhooks', () => {
  const secret = 's'.repeat(40);
  let status = 204;
  let stub: Awaited<ReturnType<typeof httpStub>>;
  let adapter: WebhookAdapter;

  beforeAll(async () => {
    stub = await httpStub((_seen, response) => response.writeHead(status, { 'retry-after': '2' }).end());
    closing(stub.server);
    adapter = new WebhookAdapter(secret, new SafeHttp({ allowedHosts: [stub.host] }), () => 1_700_000_000_000);
  });

  it('POSTs the notification as JSON, signed HMAC-SHA256 over "<t>.<body>", with the id as Idempotency-Key', async () => {
    status = 204;
    expect(await adapter.send({ kind: 'webhook', url: `${stub.origin}/bot` }, notification)).toEqual({
      kind: 'delivered',
    });
    const request = stub.seen.at(-1)!;
    const body = request.body.toString();
    expect(JSON.parse(body)).toEqual(notification);
    expect(request.headers['idempotency-key']).toBe(notification.id);
    const mac = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(request.headers['herald-signature']).toBe(`t=1700000000,v1=${mac}`);
  });

  it('maps statuses: 410 unregisters, 429 and 5xx retry (Retry-After), other refusals drop; no answer retries', async () => {
    const target = { kind: 'webhook' as const, url: `${stub.origin}/bot` };
    status = 410;
    expect((await adapter.send(target, notification)).kind).toBe('unregister');
    status = 503;
    expect(await adapter.send(target, notification)).toMatchObject({ kind: 'retry', afterMs: 2_000 });
    status = 400;
    expect((await adapter.send(target, notification)).kind).toBe('drop');
    const closed = await httpStub(() => undefined);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const nobody = new WebhookAdapter(secret, new SafeHttp({ allowedHosts: [closed.host] }));
    expect((await nobody.send({ kind: 'webhook', url: `${closed.origin}/bot` }, notification)).kind).toBe('retry');
  });

  it('a failure is told without the URL or its host (the notifier logs the reason; a host may be a secret too)', async () => {
    const closed = await httpStub(() => undefined);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    const port = closed.host.split(':')[1]!;
    const host = `hook-secret-4f9a.localhost:${port}`;
    const nobody = new WebhookAdapter(secret, new SafeHttp({ allowedHosts: [host] }));
    const outcome = await nobody.send({ kind: 'webhook', url: `http://${host}/bot/secret-path` }, notification);
    expect(outcome.kind).toBe('retry');
    expect('reason' in outcome ? outcome.reason : '').not.toMatch(/hook-secret|secret-path/);
  });

  it('a receiver that never finishes its answer (a byte now and then, or without end) holds a delivery no longer than the timeout', async () => {
    // Each would otherwise hold one of the notifier's delivery slots for as long as it likes:
    // enough of them (a few accounts' devices) and nobody is notified any more.
    const trickling = await httpStub((_seen, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => response.write('.'), 50);
      response.on('close', () => clearInterval(drip));
    });
    const flooding = await httpStub((_seen, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = (): void => {
        while (response.write(chunk));
        response.once('drain', pump);
      };
      pump();
    });
    for (const stub of [trickling, flooding]) {
      closing(stub.server);
      const quick = new WebhookAdapter(secret, new SafeHttp({ allowedHosts: [stub.host] }, 500));
      const started = Date.now();
      const outcome = await quick.send({ kind: 'webhook', url: `${stub.origin}/bot` }, notification);
      expect(Date.now() - started, stub.origin).toBeLessThan(2_000);
      expect(['retry', 'delivered']).toContain(outcome.kind);
    }
  });
});
