/**
 * Owns the request's correlation: the id every log line of a request carries, that its
 * answer echoes (`x-request-id`) and that the events it causes record as `correlationId`.
 * Taken from the W3C `traceparent` (its trace id) or from the client's `x-request-id` when
 * well formed, else made here; kept in AsyncLocalStorage for the length of the request, so
 * no code between the edge and the command needs to pass it along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestCorrelation {
  readonly correlationId: string;
  /** The caller's `traceparent`, when valid: recorded in the events' metadata as given. */
  readonly traceparent?: string;
}

/** The answer's header that carries the correlation id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** version-traceid-parentid-flags; version ff and all-zero ids are invalid (W3C Trace Context). */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?$/;
/** A client's own id: short, and nothing a log line could be forged with. */
const CLIENT_ID = /^[\w.:-]{1,100}$/;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const single = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/**
 * The correlation of a request with these headers. `x-correlation-id` is read as
 * `x-request-id` is: clients sent it before `x-request-id` was answered.
 */
export function correlationOf(headers: Headers, newId: () => string = randomUUID): RequestCorrelation {
  const traceparent = single(headers.traceparent)?.trim().toLowerCase();
  const traceId = traceparent === undefined ? undefined : traceIdOf(traceparent);
  if (traceId !== undefined) return { correlationId: traceId, traceparent: traceparent! };
  return { correlationId: clientIdOf(headers) ?? newId() };
}

/** The trace id of a valid `traceparent`: version 00 is exactly four fields, later versions may add more. */
function traceIdOf(traceparent: string): string | undefined {
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const [, version, traceId, parentId] = match as unknown as [string, string, string, string];
  if (version === 'ff' || (version === '00' && traceparent.length !== 55)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return traceId;
}

function clientIdOf(headers: Headers): string | undefined {
  const given = single(headers[REQUEST_ID_HEADER]) ?? single(headers['x-correlation-id']);
  return given !== undefined && CLIENT_ID.test(given) ? given : undefined;
}

const storage = new AsyncLocalStorage<RequestCorrelation>();

/** Runs `work` as part of the request with this correlation: everything it starts sees it. */
export function runInRequest<T>(correlation: RequestCorrelation, work: () => T): T {
  return storage.run(correlation, work);
}

/** The correlation of the request being served, or undefined outside one (a follower, start-up). */
export function currentRequest(): RequestCorrelation | undefined {
  return storage.getStore();
}

/**
 * The correlation to put in a command's context: the request's, or, outside a request,
 * a new id (each such command is its own correlation).
 */
export function requestCorrelation(): RequestCorrelation {
  return currentRequest() ?? { correlationId: randomUUID() };
}

/** The hooks of a Fastify instance this module needs (kept structural: no Fastify import here). */
interface HookTarget {
  addHook(
    name: 'onRequest' | 'preHandler',
    hook: (
      request: { headers: Headers; correlation?: RequestCorrelation },
      reply: { header(name: string, value: string): unknown },
      done: () => void,
    ) => void,
  ): unknown;
}

/**
 * Installs the correlation on every request of `fastify`: made on arrival (so even a refusal
 * before any route is echoed and logged with it), and entered again before the handler,
 * because parsing the body runs on stream events outside the request's async context.
 */
export function installRequestCorrelation(fastify: HookTarget): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const correlation = correlationOf(request.headers);
    request.correlation = correlation;
    reply.header(REQUEST_ID_HEADER, correlation.correlationId);
    runInRequest(correlation, done);
  });
  fastify.addHook('preHandler', (request, _reply, done) => {
    runInRequest(request.correlation ?? correlationOf(request.headers), done);
  });
}
