export * from './checkpoint.js';
export * from './errors.js';
export * from './types.js';
export { LIMITS, validateAppend } from './validation.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export { EVENT_STORE_MIGRATIONS } from './postgres/schema.js';
export { InMemoryEventStore, type InMemoryEventStoreOptions } from './memory/in-memory-event-store.js';
export { PostgresAuditLog, AUDIT_WINDOW, type AuditLogQuery, type AuditEvent } from './postgres/audit-log.js';
export { AuditLogParams, auditParamsProblem, auditLogQueryOf } from './audit-query.js';
