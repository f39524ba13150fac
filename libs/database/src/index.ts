export * from './embedded-postgres.js';
export * from './pool.js';
