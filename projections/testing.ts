/**
 * What tests of other folders may ask of the read models' tables (`@herald/projections/testing`):
 * helpers that live beside the tables they name, kept out of dist and of the app's imports.
 */
export * from './inbox/inbox.testing.js';
export * from './directory/directory.testing.js';
export * from './timeline/timeline.testing.js';
