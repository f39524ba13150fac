export * from './projection.js';
export * from './projection-runner.js';
export { openDeadLetter, resolveParkedEvent } from './dead-letters.js';
export * from './generations.js';
export * from './rebuild.js';
export * from './replay-check.js';
export * from './schema.js';
export * from './data-source.js';
