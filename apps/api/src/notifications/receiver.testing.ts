/**
 * For the notification tests: a webhook endpoint on loopback that checks each request's
 * signature, records what it received, and answers what the test says (fail, then recover).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface Received {
  /** The path it was POSTed to: whose device it was, in the tests. */
  readonly path: string;
  readonly id: string;
  readonly idempotencyKey: string;
  readonly body: Record<string, unknown>;
  readonly raw: string;
}

export interface Receiver {
  /** `host:port`, for WEBHOOK_ALLOWED_HOSTS. */
  readonly host: string;
  url(path?: string): string;
  /** Every request accepted (2xx), in order; a retried one appears again. */
  readonly received: Received[];
  /** Requests answered with a failure. */
  failures: number;
  /** The status to answer the next request with (default 204). */
  answer: (request: Received) => number;
  /** Requests whose signature did not check. */
  badSignatures: number;
  /** How long to wait before answering each request. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const receiver: Omit<Receiver, 'host' | 'url' | 'close'> = {
    received: [],
    failures: 0,
    badSignatures: 0,
    delayMs: 0,
    answer: () => 204,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = String(request.headers['herald-signature'] ?? '');
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
      const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest();
      if (!t || !v1 || !timingSafeEqual(Buffer.from(v1, 'hex'), expected)) {
        receiver.badSignatures++;
        response.writeHead(401).end();
        return;
      }
      const body = JSON.parse(raw) as Record<string, unknown>;
      const got: Received = {
        path: request.url ?? '',
        id: String(body.id),
        idempotencyKey: String(request.headers['idempotency-key']),
        body,
        raw,
      };
      const status = receiver.answer(got);
      const reply = (): void => {
        if (status >= 200 && status < 300) receiver.received.push(got);
        else receiver.failures++;
        response.writeHead(status).end();
      };
      if (receiver.delayMs > 0) setTimeout(reply, receiver.delayMs);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return Object.assign(receiver, {
    host,
    url: (path = '/hook') => `http://${host}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
