export * from './json-logger.js';
export * from './error-filter.js';
