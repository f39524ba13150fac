export * from './json-logger.js';
export * from './error-codes.js';
export * from './error-filter.js';
export * from './validation.js';
export * from './rate-limit.js';
export * from './request-context.js';
export * from './zod-pipe.js';
export * from './read-your-writes.js';
