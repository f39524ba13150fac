/**
 * `/metrics` as an outsider meets it: with METRICS_PORT (as the Kubernetes manifests set it)
 * it is served on that port only, so an ingress that routes the API's port to the internet
 * does not route it; and whatever port it is on, it names no user, token or message.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp } from './test-app.js';
import { apiOf } from './test-client.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let app: NestFastifyApplication;
let metricsPort: number;

beforeAll(async () => {
  metricsPort = await freePort();
  app = await testApp({ METRICS_PORT: String(metricsPort) });
});
afterAll(async () => {
  await app?.close();
});

describe('/metrics with METRICS_PORT', () => {
  it("is not on the API's port (404 as a route that does not exist), only on METRICS_PORT", async () => {
    const onApi = await app.inject({ method: 'GET', url: '/metrics' });
    expect(onApi.statusCode).toBe(404);
    expect(onApi.json()).toEqual({ error: { code: 'REQUEST.NOT_FOUND', message: 'No such route' } });
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('herald_http_request_duration_seconds');
    // The metrics port serves nothing else.
    expect((await fetch(`http://127.0.0.1:${metricsPort}/conversations`)).status).toBe(404);
  });

  it('names no user id, token, session or message text, whatever the requests were', async () => {
    const ann = await signUp(app, 'ann');
    const bob = await signUp(app, 'bob');
    const secret = `secret-${randomUUID()}`;
    const { data: group } = await apiOf(app, ann).POST('/conversations/groups', {
      body: { name: secret, memberIds: [bob.userId] },
    });
    await apiOf(app, ann).POST('/conversations/{id}/messages', {
      params: { path: { id: group!.conversationId } },
      body: { clientMessageId: randomUUID(), text: secret },
    });
    await app.inject({ method: 'GET', url: `/users/${bob.userId}?q=${secret}` });
    await app.inject({ method: 'GET', url: `/no/such/${secret}` });
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const leak of [ann.userId, bob.userId, ann.token, group!.conversationId, secret]) {
      expect(text).not.toContain(leak);
    }
    expect(text).toContain('route="/conversations/:id/messages"');
  });
});
