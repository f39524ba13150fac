/**
 * Builds the API application on Fastify. Shared by `main.ts` and the end-to-end tests so
 * both run exactly the same app.
 */
import { NestFactory } from '@nestjs/core';
import {
  correlationOf,
  frameworkRefusal,
  installRequestCorrelation,
  proxyTrust,
  REQUEST_ID_HEADER,
} from '@herald/nest';
import { HeraldMetrics, installHttpMetrics, startOpsServer, tracingEnabled } from '@herald/observability';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Duplex } from 'node:stream';
import { AppModule, type AppOptions } from './app.module.js';
import { installHttpTracing } from './http-tracing.js';
import { setUpOpenApi } from './openapi.js';

/**
 * Prometheus's scrape route: outside the API's contract and its OpenAPI document (README
 * "Metrics"); on the API's port, or on METRICS_PORT alone when that is set.
 */
export const METRICS_ROUTE = '/metrics';

/** Request bodies above this are refused with 413 (README "Limits"). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * A path parameter's longest value, in UTF-16 code units after percent-decoding (the router
 * decodes before it measures): ids are 36, link ids 64, a reaction's emoji at most 64
 * characters, which is 128 code units when each is an emoji outside the BMP (👍). Longer:
 * 400 `REQUEST.INVALID` (README "Limits").
 */
export const MAX_PARAM_LENGTH = 128;

/**
 * `beforeInit` may add Fastify hooks before the app is ready: the tests' contract check
 * (test-app.ts).
 */
export async function createApp(
  options: AppOptions,
  beforeInit?: (fastify: FastifyInstance) => void,
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: MAX_BODY_BYTES,
    // X-Forwarded-For only from TRUST_PROXY's proxies: request.ip is the client behind them.
    trustProxy: proxyTrust(options.config.trustedProxies),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router refuses a malformed path or an over-long parameter before any hook or
    // filter runs; Fastify's own answer ({statusCode, code: FST_ERR_…}) quoted the path.
    // Answered here in the one error body instead (Herald uses no Nest security hook,
    // which the adapter's default handler would run).
    // No hook runs for these either: the correlation id is answered here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      void reply
        .code(400)
        .header(REQUEST_ID_HEADER, correlationOf(request.headers).correlationId)
        .type('application/json')
        .send(frameworkRefusal(error, MAX_PARAM_LENGTH));
    },
    // Node's HTTP parser refuses a request it cannot parse (a malformed request line or
    // header, headers over 16 KiB) before Fastify sees it; answered in the one body too.
    clientErrorHandler: (error: Error & { code?: string }, socket: Duplex): void => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({
        error: {
          code: 'REQUEST.INVALID',
          message: tooLarge ? 'The request line and headers exceed 16 KiB' : 'The request is malformed',
        },
      });
      socket.end(
        `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
          `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    },
  });
  const metrics = options.metrics ?? new HeraldMetrics('api', { processMetrics: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot({ ...options, metrics }), adapter, {
    logger: options.logger,
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  installRequestCorrelation(fastify);
  if (tracingEnabled()) installHttpTracing(fastify);
  // Before the routes are registered (init): each route gets its own metric hook.
  installHttpMetrics(fastify, metrics);
  const { metricsPort, host } = options.config;
  if (metricsPort === undefined) {
    fastify.get(METRICS_ROUTE, async (_request, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  } else {
    // Only there: whatever routes the API's port from outside (an ingress) does not route it.
    const server = await startOpsServer({ port: metricsPort, host, metrics });
    fastify.addHook('onClose', async () => {
      await new Promise((resolve) => server.close(resolve));
    });
  }
  beforeInit?.(fastify);
  setUpOpenApi(app);
  await app.init();
  return app;
}
