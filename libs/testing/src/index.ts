export * from './database.js';
export * from './helpers.js';
export * from './kafka.js';
export * from './catalogue-events.js';
export * from './projection-spec.js';
export * from './decider-specification.js';
