/** How the PostgreSQL adapter reports a server it cannot reach: as the port's EventStoreUnavailable. */
import { isTransientPgError } from '@herald/database';
import { EventStoreUnavailable } from '../errors.js';

/** Maps lost connections to EventStoreUnavailable; domain errors pass through. */
export async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isTransientPgError(error)) {
      throw new EventStoreUnavailable(`event store unavailable: ${(error as Error).message}`, { cause: error });
    }
    throw error;
  }
}
