export * from './stream.js';
export * from './state-cache.js';
export * from './pipeline.js';
export * from './ids.js';
