/**
 * Request validation at the edge: zod schemas, strict (unknown fields are refused), with
 * a 400 whose details name the fields, never echo their values.
 */
import { z } from 'zod';

export class RequestInvalid extends Error {
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
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.slice(0, 20).map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    problem: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  throw new RequestInvalid(`Invalid request ${what}`, details);
}

/** The query of a route that takes none: any parameter is refused, as unknown fields are. */
export const NoQuery = z.strictObject({});
