/**
 * The command side every context shares: the command pipeline (load → decide → append →
 * retry), its one state cache, the stream moves it is made of, and derived ids.
 */
export * from './stream.js';
export * from './state-cache.js';
export * from './pipeline.js';
export * from './ids.js';
