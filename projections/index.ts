export * from './membership/index.js';
export * from './timeline/index.js';
export * from './inbox/index.js';
export * from './directory/index.js';
export * from './each-event.js';
export * from './read-model.js';
export * from './registry.js';
export * from './sql.js';
