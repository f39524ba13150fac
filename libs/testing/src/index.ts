export * from './database.js';
export * from './helpers.js';
