export * from './each-event.js';
export * from './read-model.js';
export * from './registry.js';
export * from './sql.js';
export * from './as-of.js';
export * from './notification-audience.js';
