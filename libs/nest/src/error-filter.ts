/**
 * The one error body Herald answers with: `{ "error": { "code", "message", "details"? } }`.
 * Domain and port errors carry a code (error-codes.ts maps each to its status). Anything
 * unexpected is a 500 whose details stay in the log.
 */
import { ArgumentsHost, Catch, HttpException, type ExceptionFilter } from '@nestjs/common';
import { databaseFailure } from '@herald/database';
import {
  CODE_BY_HTTP_STATUS,
  isDomainErrorCode,
  STATUS_BY_CODE,
  type ErrorBody,
  type ErrorCode,
} from './error-codes.js';
import type { JsonLogger } from './json-logger.js';
import { correlationOfRequest, type CorrelatedRequest } from './request-context.js';
import { RateLimited } from './rate-limit.js';
import { RequestInvalid } from './validation.js';

/**
 * What the framework's own refusals say (no route, malformed JSON, a bad content type, a
 * body too large): a fixed sentence per status. Their own messages quote the request (the
 * path, the content type, a piece of the body), and an error body echoes nothing.
 */
const HTTP_MESSAGES: Record<number, string> = {
  400: 'The request is malformed',
  404: 'No such route',
  405: 'Method not allowed',
  406: 'Not acceptable',
  413: 'The request body is too large',
  415: 'Unsupported content type: send application/json',
};

const httpMessage = (status: number): string => HTTP_MESSAGES[status] ?? 'The request was refused';

const httpCode = (status: number): ErrorCode =>
  (CODE_BY_HTTP_STATUS as Record<number, ErrorCode>)[status] ?? `HTTP.${status}`;

/**
 * Fastify's refusals before any route runs (Fastify's `frameworkErrors`): a path that is
 * not valid percent-encoded UTF-8 (FST_ERR_BAD_URL) or a path parameter over the router's
 * `maxParamLength` (FST_ERR_MAX_PARAM_LENGTH, 414 by default). Both are bad input: 400
 * `REQUEST.INVALID`, in the one body, never quoting the path.
 */
export function frameworkRefusal(error: { readonly code?: string }, maxParamLength: number): ErrorBody {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? `A path parameter is longer than ${maxParamLength} characters`
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The path is not valid percent-encoded UTF-8'
        : 'The request is malformed';
  return { error: { code: 'REQUEST.INVALID', message } };
}

/**
 * What a request that met the database's state answers: its disk full (PostgreSQL cannot
 * write: SQLSTATE 53100, or a write that failed with ENOSPC), or the server unreachable,
 * paused past the pools' timeouts, restarting or out of resources. Both are 503: nothing
 * the request asked was done, or (a write whose COMMIT may have reached the server) it was
 * done once and an idempotent retry finds it.
 */
const DATABASE_MESSAGES = {
  'DATABASE.STORAGE_FULL': "The database's disk is full: nothing can be written until space is freed; retry later",
  'DATABASE.UNAVAILABLE': 'The database is not answering (unreachable, paused or restarting); retry',
} as const;

export function toErrorResponse(exception: unknown): { status: number; body: ErrorBody } {
  // Domain and port errors (plain classes in framework-free code) carry a code the table knows.
  const code = (exception as { code?: unknown } | null)?.code;
  const failure = databaseFailure(exception);
  // A full disk is named as such whoever reports it (a port's UNAVAILABLE, a read model's driver error).
  const database =
    failure === 'storage-full'
      ? 'DATABASE.STORAGE_FULL'
      : failure === 'unavailable' && !(typeof code === 'string' && isDomainErrorCode(code))
        ? 'DATABASE.UNAVAILABLE'
        : undefined;
  if (database) {
    return {
      status: STATUS_BY_CODE[database],
      body: { error: { code: database, message: DATABASE_MESSAGES[database] } },
    };
  }
  if (exception instanceof Error && typeof code === 'string' && isDomainErrorCode(code)) {
    // Only a refused request has details: which fields, and what is wrong with each.
    const details = exception instanceof RequestInvalid ? { details: exception.details } : {};
    return { status: STATUS_BY_CODE[code], body: { error: { code, message: exception.message, ...details } } };
  }
  if (exception instanceof HttpException) {
    // Only the framework throws these (an unknown route: "Cannot GET <path>"): its message
    // quotes the request, so the status's own sentence is answered instead.
    const status = exception.getStatus();
    return { status, body: { error: { code: httpCode(status), message: httpMessage(status) } } };
  }
  // Fastify's own errors (malformed JSON, body too large, bad content type) carry a 4xx statusCode.
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      body: { error: { code: httpCode(statusCode), message: httpMessage(statusCode) } },
    };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}

/**
 * Refusals recorded for the security log: who is not recognized (every 401: a wrong
 * password, an unknown user name, a bad, expired or replayed token), and who may not do
 * what they asked. A conversation the caller may not see is not found whether or not it
 * exists, so every CONVERSATION.NOT_FOUND counts.
 */
function refusal(status: number, code: string): 'authentication' | 'authorization' | undefined {
  if (status === 401) return 'authentication';
  if (code === 'AUTH.FORBIDDEN' || code === 'CONVERSATION.FORBIDDEN' || code === 'CONVERSATION.NOT_FOUND') {
    return 'authorization';
  }
  return undefined;
}

interface RequestSeen extends CorrelatedRequest {
  readonly method: string;
  readonly ip: string;
  readonly params?: unknown;
  readonly routeOptions?: { readonly url?: string };
  readonly caller?: { readonly userId: string };
}

@Catch()
export class HeraldExceptionFilter implements ExceptionFilter {
  /** When each 503 code was last logged: a state clients retry through, not one error a request. */
  private readonly unavailableLogged = new Map<string, number>();

  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { status, body } = toErrorResponse(exception);
    const request = host.switchToHttp().getRequest<RequestSeen>();
    const { correlationId } = correlationOfRequest(request);
    if (status === 503) this.logUnavailable(body.error.code, body.error.message, correlationId);
    else if (status >= 500) this.logger.emit('error', exception, 'HeraldExceptionFilter', undefined, { correlationId });
    const refused = refusal(status, body.error.code);
    if (refused) {
      // Who, where and why: never a body or a token.
      this.logger.emit('warn', `${refused} refused: ${body.error.code}`, 'Auth', undefined, {
        correlationId,
        userId: request.caller?.userId,
        method: request.method,
        route: request.routeOptions?.url,
        params: request.params,
        ip: request.ip,
      });
    }
    const reply = host.switchToHttp().getResponse<{
      status(code: number): { send(body: unknown): void };
      header(name: string, value: string): unknown;
    }>();
    if (exception instanceof RateLimited) reply.header('retry-after', String(exception.retryAfterSeconds));
    if (status === 503) reply.header('retry-after', '1');
    reply.status(status).send(body);
  }

  /**
   * A 503 (a store unreachable, a read model stopped or behind: clients retry) is a `warn`
   * without a stack, once a second per code however many requests meet it.
   */
  private logUnavailable(code: string, message: string, correlationId: string): void {
    const now = Date.now();
    if (now - (this.unavailableLogged.get(code) ?? 0) < 1000) return;
    this.unavailableLogged.set(code, now);
    this.logger.emit('warn', `unavailable: ${code}: ${message}`, 'HeraldExceptionFilter', undefined, { correlationId });
  }
}
