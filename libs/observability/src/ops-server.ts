/**
 * The operations endpoints of the apps that serve no API (projector, relay), on node:http:
 * `GET /health` (the app's report), `/health/ready` (its status alone, with the same HTTP
 * status), `/health/live` (200 whenever the process answers; touches nothing) and
 * `/metrics` (Prometheus text format). Anything else is 404 in Herald's one error body.
 * Without `health` it serves `/metrics` alone: the API's METRICS_PORT, kept off the port
 * an ingress routes from outside.
 */
import { createServer, type Server } from 'node:http';
import type { HeraldMetrics } from './herald-metrics.js';

export interface HealthAnswer {
  /** 200 or 503. */
  readonly httpStatus: number;
  readonly body: { readonly status: string } & Record<string, unknown>;
}

export interface OpsServerOptions {
  readonly port: number;
  readonly host: string;
  /** Undefined: no /health routes (the API answers its own on its port). */
  readonly health?: () => Promise<HealthAnswer>;
  readonly metrics: HeraldMetrics;
}

const json = (response: import('node:http').ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
};

/** Listens on `port` (0: any free one; the server's address says which). */
export async function startOpsServer(options: OpsServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method !== 'GET') {
      json(response, 405, {
        error: { code: 'REQUEST.METHOD_NOT_ALLOWED', message: 'Only GET is served here' },
      });
      return;
    }
    const failed = (): void => json(response, 503, { status: 'down' });
    const { health } = options;
    if (path === '/metrics') {
      options.metrics.scrape().then(
        ({ contentType, body }) => {
          response.writeHead(200, { 'content-type': contentType });
          response.end(body);
        },
        () => json(response, 500, { error: { code: 'INTERNAL', message: 'internal error' } }),
      );
      return;
    }
    if (health !== undefined) {
      switch (path) {
        case '/health':
          health().then(({ httpStatus, body }) => json(response, httpStatus, body), failed);
          return;
        case '/health/ready':
          health().then(({ httpStatus, body }) => json(response, httpStatus, { status: body.status }), failed);
          return;
        case '/health/live':
          json(response, 200, { status: 'ok' });
          return;
      }
    }
    json(response, 404, {
      error: {
        code: 'REQUEST.NOT_FOUND',
        message:
          health === undefined
            ? 'Only /metrics is served here'
            : 'Only /health, /health/ready, /health/live and /metrics are served here',
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** How long a health probe waits for each store before calling it down (as the API's `/health`). */
export const PROBE_TIMEOUT_MS = 1_000;

/** `work`'s value, or `fallback` once `ms` passed without one (or when it fails). */
export async function within<T>(ms: number, work: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work.catch(() => fallback),
      new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
