/**
 * Read-your-writes at the edge: a command answers with the checkpoint it wrote at; a query
 * given it (`?after=<checkpoint>` or the `x-herald-after` header) waits, up to
 * READ_YOUR_WRITES_MS, until the read models hold everything up to it, then runs. As an
 * interceptor on the query routes, so no handler waits by hand. The read models are
 * reached through CHECKPOINT_WAITER (the app's projections), so this lib knows none.
 */
import {
  Inject,
  Injectable,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { parseCheckpoint, type Checkpoint } from '@herald/event-store';
import { EdgeError } from './error-codes.js';
import type { Observable } from 'rxjs';
import { RequestInvalid } from './validation.js';

/** How long a query given a checkpoint waits for the read models before answering 503. */
export const READ_YOUR_WRITES_MS = 5_000;

/**
 * What the interceptor waits on: resolves true once the read models reached the
 * checkpoint, false after the timeout. `readModels`: the ones the route reads (ReadsFrom);
 * without it, the waiter's default set.
 */
export interface CheckpointWaiter {
  waitFor(checkpoint: Checkpoint, timeoutMs: number, readModels?: readonly string[]): Promise<boolean>;
}

const READS_FROM = 'herald:reads-from';

/**
 * On a query route: the read models (`search.v1`, ...) it reads, so that `?after=` waits for
 * those alone; a route without it waits for the waiter's default set.
 */
export const ReadsFrom = (...readModels: string[]): MethodDecorator => SetMetadata(READS_FROM, readModels);

/** The provider token of the app's CheckpointWaiter. */
export const CHECKPOINT_WAITER = 'herald:checkpoint-waiter';

/** The read models did not reach the checkpoint in time: try again shortly (503). */
export class ProjectionsBehind extends EdgeError {
  readonly code = 'PROJECTIONS.BEHIND';
  constructor() {
    super(`The read models have not caught up with that checkpoint within ${READ_YOUR_WRITES_MS} ms; retry`);
  }
}

interface QueryRequest {
  readonly query?: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * The checkpoint a request asks to read after: `?after=`, else the header. A value that is
 * not one string is left to the route's own query schema to refuse.
 */
export function checkpointAskedBy(request: QueryRequest): string | undefined {
  const after = (request.query as { after?: unknown } | undefined)?.after;
  if (typeof after === 'string') return after || undefined;
  const header = request.headers['x-herald-after'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/** Waits until the read models reached `given` (a checkpoint this server gave), or refuses. */
export async function readYourWrites(
  readModels: CheckpointWaiter,
  given: string | undefined,
  names?: readonly string[],
): Promise<void> {
  if (given === undefined) return;
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(given);
  } catch {
    throw new RequestInvalid('Invalid checkpoint', [{ path: 'after', problem: 'not a checkpoint this server gave' }]);
  }
  const reached = await (names
    ? readModels.waitFor(checkpoint, READ_YOUR_WRITES_MS, names)
    : readModels.waitFor(checkpoint, READ_YOUR_WRITES_MS));
  if (!reached) throw new ProjectionsBehind();
}

/** `@UseInterceptors(ReadYourWrites)` on a query route (or its controller). */
@Injectable()
export class ReadYourWrites implements NestInterceptor {
  private readonly reflector = new Reflector();

  constructor(@Inject(CHECKPOINT_WAITER) private readonly readModels: CheckpointWaiter) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const names = this.reflector.get<readonly string[] | undefined>(READS_FROM, context.getHandler());
    await readYourWrites(this.readModels, checkpointAskedBy(context.switchToHttp().getRequest<QueryRequest>()), names);
    return next.handle();
  }
}
