export * from './projection.js';
export * from './projection-runner.js';
export { resolveParkedEvent } from './dead-letters.js';
export * from './schema.js';
export * from './data-source.js';
export * from './runner-group.js';
export { heartbeatMs, LOCK_APPLICATION_NAME } from './lock.js';
