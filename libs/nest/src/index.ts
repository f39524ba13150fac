export * from './json-logger.js';
export * from './error-filter.js';
export * from './validation.js';
export * from './rate-limit.js';
