/**
 * HTTP latency by route on a Fastify instance: each route gets its own `onResponse` hook
 * when it is registered, holding its template (`/conversations/:id/messages`, never the raw
 * URL: the label's values are the routes, a bounded set) and its slots by status. A request
 * then costs one Map lookup by status and a histogram slot's `observe`: nothing is
 * allocated, the time is Fastify's own (`reply.elapsedTime`). Requests no route matched
 * count under the route `unmatched`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler, RouteOptions } from 'fastify';
import type { HistogramSlot } from './fast-metrics.js';
import type { HeraldMetrics } from './herald-metrics.js';

/** The route label of requests that matched no route (404s from the not-found handler). */
export const UNMATCHED_ROUTE = 'unmatched';

/** One route and method: its slots by status code, made the first time a status is answered. */
function routeMeter(metrics: HeraldMetrics, method: string, route: string): (status: number) => HistogramSlot {
  const byStatus = new Map<number, HistogramSlot>();
  return (status) => {
    let slot = byStatus.get(status);
    if (!slot) {
      slot = metrics.httpDuration.slot({ method, route, status: String(status) });
      byStatus.set(status, slot);
    }
    return slot;
  };
}

const hooksOf = (hooks: RouteOptions['onResponse']): onResponseHookHandler[] =>
  hooks === undefined ? [] : Array.isArray(hooks) ? [...(hooks as onResponseHookHandler[])] : [hooks];

/** Installs the hooks; call before the routes are registered (before the app's `init`). */
export function installHttpMetrics(fastify: FastifyInstance, metrics: HeraldMetrics): void {
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const meters = new Map(methods.map((m) => [m, routeMeter(metrics, m, route.url)]));
    const observe: onResponseHookHandler = function (this: unknown, request, reply, done) {
      meters
        .get(request.method)?.(reply.statusCode)
        .observe(reply.elapsedTime / 1000);
      done();
    };
    route.onResponse = [...hooksOf(route.onResponse), observe];
  });
  const unmatched = new Map<string, (status: number) => HistogramSlot>();
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    if (request.is404) {
      let meter = unmatched.get(request.method);
      if (!meter) {
        // Methods are few and known to the HTTP parser; anything else is one label value.
        meter = routeMeter(metrics, request.method, UNMATCHED_ROUTE);
        unmatched.set(request.method, meter);
      }
      meter(reply.statusCode).observe(reply.elapsedTime / 1000);
    }
    done();
  });
}
