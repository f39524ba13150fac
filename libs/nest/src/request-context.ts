/**
 * Owns the request's correlation: the id every log line of a request carries, that its
 * answer echoes (`x-request-id`) and that the events it causes record as `correlationId`.
 * Taken from the W3C `traceparent` (its trace id) or from the client's `x-request-id` when
 * well formed, else made here, once, on arrival; it travels on the request object. Not in
 * AsyncLocalStorage: on Node 20 that installs a promise hook on every promise of the
 * process, and bench:chat measured it at a fifth of the sends a second (ADR 014). So the
 * edge passes it on: the command context a controller builds, the lines the exception
 * filter writes.
 */
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

/** What the request hook leaves on a request: its correlation. */
export interface CorrelatedRequest {
  readonly headers: Headers;
  correlation?: RequestCorrelation;
}

/** The correlation of a request: the one made on its arrival (or, before the hook ran, from its headers). */
export function correlationOfRequest(request: CorrelatedRequest): RequestCorrelation {
  return (request.correlation ??= correlationOf(request.headers));
}

/** The hook of a Fastify instance this module needs (kept structural: no Fastify import here). */
interface HookTarget {
  addHook(
    name: 'onRequest',
    hook: (
      request: CorrelatedRequest,
      reply: { header(name: string, value: string): unknown },
      done: () => void,
    ) => void,
  ): unknown;
}

/**
 * Gives every request of `fastify` its correlation on arrival, and echoes it as
 * `x-request-id`, so even a refusal before any route carries it.
 */
export function installRequestCorrelation(fastify: HookTarget): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, correlationOfRequest(request).correlationId);
    done();
  });
}
