/**
 * With tracing on (OTEL_EXPORTER_OTLP_ENDPOINT): a SERVER span per HTTP request, named by
 * its route template, continuing the caller's `traceparent` (or starting a trace). The
 * request's correlation then carries this span's `traceparent`, so the events the request
 * causes record it in their metadata (their correlation id stays the request's). Off, this
 * is not installed: a caller's `traceparent` is recorded as given.
 */
import { correlationOfRequest, type CorrelatedRequest } from '@herald/nest';
import { endSpan, SpanKind, startSpan, traceparentOf, type Span } from '@herald/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type Traced = FastifyRequest & CorrelatedRequest & { heraldSpan?: Span };

export function installHttpTracing(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request: Traced, _reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url;
    const correlation = correlationOfRequest(request);
    const span = startSpan(`${request.method} ${route ?? 'unmatched'}`, {
      kind: SpanKind.SERVER,
      // A valid traceparent only (the correlation's): an invalid one starts a new trace.
      parent: correlation.traceparent,
      attributes: {
        'http.request.method': request.method,
        ...(route ? { 'http.route': route } : {}),
        'herald.correlation_id': correlation.correlationId,
      },
    });
    if (span) {
      request.heraldSpan = span;
      request.correlation = {
        correlationId: correlation.correlationId,
        traceparent: traceparentOf(span.spanContext()),
      };
    }
    done();
  });
  const end = (request: Traced, reply: FastifyReply, done: () => void): void => {
    const span = request.heraldSpan;
    if (span) {
      request.heraldSpan = undefined;
      span.setAttribute('http.response.status_code', reply.statusCode);
      endSpan(span, reply.statusCode >= 500 ? new Error(`HTTP ${reply.statusCode}`) : undefined);
    }
    done();
  };
  fastify.addHook('onResponse', end);
  fastify.addHook('onRequestAbort', (request: Traced, done: () => void) => {
    request.heraldSpan?.setAttribute('herald.aborted', true);
    endSpan(request.heraldSpan);
    request.heraldSpan = undefined;
    done();
  });
}
