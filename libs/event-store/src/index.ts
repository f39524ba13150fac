export * from './checkpoint.js';
export * from './errors.js';
export * from './types.js';
export { LIMITS, validateAppend } from './validation.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export { EVENT_STORE_MIGRATIONS } from './postgres/schema.js';
export { InMemoryEventStore, type InMemoryEventStoreOptions } from './memory/in-memory-event-store.js';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb/eventstoredb-event-store.js';
export { openEventStore, type EventStoreChoice } from './open-event-store.js';
