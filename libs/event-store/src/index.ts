export * from './checkpoint.js';
export * from './errors.js';
export * from './types.js';
export { LIMITS, validateAppend } from './validation.js';
export { PostgresEventStore, type PostgresEventStoreOptions } from './postgres/postgres-event-store.js';
export { EVENT_STORE_MIGRATIONS } from './postgres/schema.js';
export { InMemoryEventStore, type InMemoryEventStoreOptions } from './memory/in-memory-event-store.js';
export { EventStoreDbEventStore, type EventStoreDbEventStoreOptions } from './eventstoredb/eventstoredb-event-store.js';
export {
  openConfiguredEventStore,
  openEventStore,
  type EventStoreChoice,
  type EventStoreSettings,
} from './open-event-store.js';
export * from './integrity/event-hash.js';
export * from './integrity/merkle.js';
export { Sealer, MAX_SEAL_EVENTS, type SealerOptions } from './postgres/integrity/sealer.js';
export { TamperEvidence } from './postgres/integrity/tamper-evidence.js';
export {
  verifyStreamChain,
  verifyEveryChain,
  linkProblem,
  recomputeHash,
  type VerifyOptions,
  type VerifyReport,
  type BrokenLink,
} from './integrity/verify-chain.js';
export { NotSealedYet, EventNotFound, inclusionProof, type InclusionProof } from './postgres/integrity/proof.js';
export type { StoredSeal } from './postgres/integrity/seals.js';
export { AUDIT_WINDOW, auditTime } from './audit-log.js';
export { AuditLogParams, auditParamsProblem, auditLogQueryOf } from './audit-query.js';
