export * from './embedded-postgres.js';
export * from './pool.js';
export * from './restart-budget.js';
