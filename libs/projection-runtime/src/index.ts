export * from './projection.js';
export * from './projection-runner.js';
export { resolveParkedEvent } from './dead-letters.js';
export * from './schema.js';
export * from './data-source.js';
