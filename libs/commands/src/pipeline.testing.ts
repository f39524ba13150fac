/**
 * For the command pipeline's specs (unit, over the in-memory store; integration, over
 * PostgreSQL): a small stream to drive it, a user name's claims counted.
 */
import type { EventStore } from '@herald/event-store';
import { streamIdOf, type EventIn } from '@herald/events';
import { CommandPipeline } from './pipeline.js';
import type { StateCache } from './state-cache.js';

export type Claimed = EventIn<'username'>;

/** How many claims a name's stream holds, and the last claimant. */
export interface Claims {
  readonly count: number;
  readonly last: string | null;
}

/** A pipeline over the user-name streams of `store`, folding them into Claims. */
export const claimsPipeline = (store: EventStore, cache?: StateCache<Claims>) =>
  new CommandPipeline<Claims, Claimed>(
    store,
    {
      streamOf: (id) => streamIdOf('username', id),
      initialState: () => ({ count: 0, last: null }),
      evolve: (state, event) => ({ count: state.count + 1, last: event.data.userId }),
    },
    cache ? { cache } : {},
  );

export const claimOf = (username: string, userId: string): Claimed => ({
  type: 'UsernameClaimed',
  data: { username, userId },
});
