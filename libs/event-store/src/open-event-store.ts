/**
 * The one place an app turns its choice of event store (EVENT_STORE) into an adapter:
 * the API and the relay call it, so both follow the same store.
 */
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store.js';
import { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
import type { EventStore } from './types.js';

export type EventStoreChoice =
  | { readonly kind: 'postgres'; readonly postgres: PostgresEventStoreOptions }
  | { readonly kind: 'eventstoredb'; readonly connectionString: string };

/** Opens the chosen store; PostgreSQL's tables are created or upgraded first. */
export async function openEventStore(choice: EventStoreChoice): Promise<EventStore> {
  if (choice.kind === 'eventstoredb') return new EventStoreDbEventStore({ connectionString: choice.connectionString });
  const store = new PostgresEventStore(choice.postgres);
  await store.migrate();
  return store;
}
