export * from './membership/membership.projection.js';
export * from './timeline/timeline.projection.js';
export * from './timeline/timeline.queries.js';
export * from './inbox/inbox.projection.js';
export * from './directory/directory.projection.js';
export * from './each-event.js';
