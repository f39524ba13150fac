/**
 * The one place an app turns its choice of event store (EVENT_STORE) into an adapter:
 * the API, the projector, the relay and the notifier call it, so all follow the same store.
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

/** What an app's configuration says of its event store (HeraldConfig has these fields). */
export interface EventStoreSettings {
  readonly eventStore: { readonly kind: 'postgres' } | { readonly kind: 'eventstoredb'; readonly url: string };
  readonly eventStorePollIntervalMs: number;
}

/**
 * The store the configuration names: EventStoreDB at its URL, or PostgreSQL at
 * `databaseUrl` (the read models' database) with these pool options.
 */
export function openConfiguredEventStore(
  settings: EventStoreSettings,
  databaseUrl: string,
  postgres: Omit<PostgresEventStoreOptions, 'connectionString' | 'pollIntervalMs'>,
): Promise<EventStore> {
  return openEventStore(
    settings.eventStore.kind === 'eventstoredb'
      ? { kind: 'eventstoredb', connectionString: settings.eventStore.url }
      : {
          kind: 'postgres',
          postgres: {
            ...postgres,
            connectionString: databaseUrl,
            pollIntervalMs: settings.eventStorePollIntervalMs,
          },
        },
  );
}
