/**
 * Request validation at the edge: zod schemas, strict (unknown fields are refused), with
 * a 400 whose details name the fields, never echo their values. Strings are made
 * well-formed first (a lone surrogate becomes U+FFFD), once, here: the event then holds what
 * PostgreSQL stores and REST shows, and pushes carry the same.
 */
import { z } from 'zod';
import { EdgeError } from './error-codes.js';

export class RequestInvalid extends EdgeError {
  readonly code = 'REQUEST.INVALID';
  constructor(
    message: string,
    readonly details: readonly { readonly path: string; readonly problem: string }[],
  ) {
    super(message);
    this.name = 'RequestInvalid';
  }
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'body'): z.output<S> {
  const result = schema.safeParse(wellFormed(input));
  if (result.success) {
    // PostgreSQL's text cannot hold NUL: an event carrying one would stop every read model
    // that stores the string (the projections park it). Refused wherever it is.
    const nul = pathOfNul(result.data);
    if (nul !== undefined) {
      throw new RequestInvalid(`Invalid request ${what}`, [
        { path: nul || '(root)', problem: 'contains a NUL character' },
      ]);
    }
    return result.data;
  }
  const details = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    problem: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  throw new RequestInvalid(`Invalid request ${what}`, details);
}

/**
 * An id (a UUID) in a path, body or query. Accepted in any case, answered and stored in
 * lower case: ids are compared as strings everywhere (streams, read models, pair ids), so
 * `PUT /blocks/<ID>` must name the same user as `<id>` does. Every REST schema
 * and WebSocket frame takes ids through this one.
 */
export const Uuid = z.uuid().toLowerCase();

/** The query of a route that takes none: any parameter is refused, as unknown fields are. */
export const NoQuery = z.strictObject({});

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `value` with every string (keys too) well-formed: each lone surrogate replaced by U+FFFD,
 * as PostgreSQL's UTF-8 text would store it. Lengths do not change: one code unit for one.
 */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd');
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [wellFormed(key), wellFormed(item)]));
}

/** Where a string holding U+0000 is in `value` (dotted path, '' for the value itself), if anywhere. */
function pathOfNul(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = key.includes('\u0000') ? path : pathOfNul(item, path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}
