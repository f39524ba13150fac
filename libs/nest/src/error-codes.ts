/**
 * Every error code an HTTP answer may carry, as one union assembled from each context's
 * own, and the one table that maps each to its status. A code added to a context without a
 * status here fails the type check (`satisfies`), not a request at run time.
 */
import { HttpStatus } from '@nestjs/common';
import type { ConversationErrorCode } from '@herald/conversations';
import type { EventStoreErrorCode } from '@herald/event-store';
import type { IdentityErrorCode } from '@herald/identity';
import type { DeviceErrorCode } from '@herald/notifications';
import { z } from 'zod';

/**
 * The edge's own refusals (validation, rate limits), the read models' (read-your-writes,
 * fail closed), and the database's state as the edge reads it from a driver error
 * (unreachable, paused, restarting; its disk full): see the exception filter.
 */
export type EdgeErrorCode =
  | 'REQUEST.INVALID'
  | 'REQUEST.RATE_LIMITED'
  | 'PROJECTIONS.BEHIND'
  | 'PROJECTIONS.UNAVAILABLE'
  | 'PROJECTIONS.NOT_FOUND'
  | 'PROJECTIONS.NOTHING_PARKED'
  | 'OPERATOR.REQUIRED'
  | 'AUDIT.EVENT_NOT_FOUND'
  | 'AUDIT.NOT_SEALED_YET'
  | 'AUDIT.NO_SEALS'
  | 'AUDIT.CREDENTIAL_WITHHELD'
  | 'DATABASE.UNAVAILABLE'
  | 'DATABASE.STORAGE_FULL';

/**
 * What the edge's refusals extend: their code is one of the union's, so a refusal with a
 * new code fails the type check until the code is added there, and then until the table
 * below maps it. (Each context's errors do the same with their own union.)
 */
export abstract class EdgeError extends Error {
  abstract readonly code: EdgeErrorCode;
}

/** A code a thrown error carries, mapped to its status below. */
export type DomainErrorCode =
  ConversationErrorCode | IdentityErrorCode | DeviceErrorCode | EventStoreErrorCode | EdgeErrorCode;

export const STATUS_BY_CODE = {
  'EVENT_STORE.WRONG_EXPECTED_REVISION': HttpStatus.CONFLICT,
  'EVENT_STORE.DUPLICATE_EVENT_ID': HttpStatus.CONFLICT,
  'EVENT_STORE.INVALID_APPEND': HttpStatus.BAD_REQUEST,
  'EVENT_STORE.INVALID_ARGUMENT': HttpStatus.BAD_REQUEST,
  'EVENT_STORE.STREAM_NOT_FOUND': HttpStatus.NOT_FOUND,
  'EVENT_STORE.UNAVAILABLE': HttpStatus.SERVICE_UNAVAILABLE,
  // What the configured store cannot answer (a time range on EventStoreDB, history it no longer serves).
  'EVENT_STORE.UNSUPPORTED_READ': HttpStatus.CONFLICT,
  'REQUEST.INVALID': HttpStatus.BAD_REQUEST,
  'AUTH.INVALID_CREDENTIALS': HttpStatus.UNAUTHORIZED,
  'AUTH.SESSION_EXPIRED': HttpStatus.UNAUTHORIZED,
  'AUTH.SESSION_REVOKED': HttpStatus.UNAUTHORIZED,
  'AUTH.REFRESH_TOKEN_REUSED': HttpStatus.UNAUTHORIZED,
  'AUTH.INVALID_TOKEN': HttpStatus.UNAUTHORIZED,
  'SESSION.NOT_FOUND': HttpStatus.NOT_FOUND,
  'USER.USERNAME_TAKEN': HttpStatus.CONFLICT,
  'USER.NOT_FOUND': HttpStatus.NOT_FOUND,
  'USER.INVALID': HttpStatus.BAD_REQUEST,
  'CONVERSATION.NOT_FOUND': HttpStatus.NOT_FOUND,
  'CONVERSATION.ALREADY_EXISTS': HttpStatus.CONFLICT,
  'CONVERSATION.FORBIDDEN': HttpStatus.FORBIDDEN,
  'CONVERSATION.DISSOLVED': HttpStatus.CONFLICT,
  'CONVERSATION.INVALID': HttpStatus.BAD_REQUEST,
  'CONVERSATION.ALREADY_MEMBER': HttpStatus.CONFLICT,
  'CONVERSATION.OWNER_CANNOT_LEAVE': HttpStatus.CONFLICT,
  'CONVERSATION.SILENCED': HttpStatus.FORBIDDEN,
  'CONVERSATION.ANNOUNCEMENT_ONLY': HttpStatus.FORBIDDEN,
  'CONVERSATION.BANNED': HttpStatus.FORBIDDEN,
  'MESSAGE.NOT_FOUND': HttpStatus.NOT_FOUND,
  'MESSAGE.DELETED': HttpStatus.CONFLICT,
  'DEVICE.NOT_FOUND': HttpStatus.NOT_FOUND,
  'DEVICE.TOO_MANY': HttpStatus.CONFLICT,
  'DEVICE.UNSUPPORTED': HttpStatus.BAD_REQUEST,
  'PROJECTIONS.BEHIND': HttpStatus.SERVICE_UNAVAILABLE,
  'PROJECTIONS.UNAVAILABLE': HttpStatus.SERVICE_UNAVAILABLE,
  'PROJECTIONS.NOT_FOUND': HttpStatus.NOT_FOUND,
  'PROJECTIONS.NOTHING_PARKED': HttpStatus.NOT_FOUND,
  'OPERATOR.REQUIRED': HttpStatus.FORBIDDEN,
  'AUDIT.EVENT_NOT_FOUND': HttpStatus.NOT_FOUND,
  'AUDIT.NOT_SEALED_YET': HttpStatus.CONFLICT,
  // The events are in EventStoreDB, which has no sealer: no event will ever have a proof.
  'AUDIT.NO_SEALS': HttpStatus.CONFLICT,
  'AUDIT.CREDENTIAL_WITHHELD': HttpStatus.FORBIDDEN,
  'DATABASE.UNAVAILABLE': HttpStatus.SERVICE_UNAVAILABLE,
  'DATABASE.STORAGE_FULL': HttpStatus.SERVICE_UNAVAILABLE,
  'REQUEST.RATE_LIMITED': HttpStatus.TOO_MANY_REQUESTS,
} as const satisfies Record<DomainErrorCode, HttpStatus>;

/**
 * The codes of the framework's own refusals (no route, malformed JSON, a bad content type,
 * a body too large), by status. A status not listed answers `HTTP.<status>`.
 */
export const CODE_BY_HTTP_STATUS = {
  400: 'REQUEST.INVALID',
  401: 'AUTH.UNAUTHENTICATED',
  403: 'AUTH.FORBIDDEN',
  404: 'REQUEST.NOT_FOUND',
  405: 'REQUEST.METHOD_NOT_ALLOWED',
  406: 'REQUEST.NOT_ACCEPTABLE',
  409: 'REQUEST.CONFLICT',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
  422: 'REQUEST.UNPROCESSABLE',
  429: 'REQUEST.RATE_LIMITED',
  503: 'SERVICE.UNAVAILABLE',
} as const satisfies Partial<Record<HttpStatus, string>>;

type HttpErrorCode = (typeof CODE_BY_HTTP_STATUS)[keyof typeof CODE_BY_HTTP_STATUS] | `HTTP.${number}`;

/** Every code an error body may carry: a thrown error's, a framework refusal's, or an unexpected error's. */
export type ErrorCode = DomainErrorCode | HttpErrorCode | 'INTERNAL';

const KNOWN_CODES = [
  ...new Set<string>([...Object.keys(STATUS_BY_CODE), ...Object.values(CODE_BY_HTTP_STATUS), 'INTERNAL']),
] as [string, ...string[]];

/** The one error body: `{ "error": { "code", "message", "details"? } }`. */
export const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: z.union([z.enum(KNOWN_CODES), z.string().regex(/^HTTP\.\d{3}$/)]),
    message: z.string(),
    // Only REQUEST.INVALID has details: which fields, and what is wrong with each.
    details: z.array(z.strictObject({ path: z.string(), problem: z.string() })).optional(),
  }),
});

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode;
    readonly message: string;
    readonly details?: readonly { readonly path: string; readonly problem: string }[];
  };
}

export const isDomainErrorCode = (code: string): code is DomainErrorCode => Object.hasOwn(STATUS_BY_CODE, code);
