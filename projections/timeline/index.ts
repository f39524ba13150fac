/** timeline.v1: messages by seq with their edits, deletions, reactions and replies, and their history. */
import type { ReadModel } from '../read-model.js';
import { GetMessagesHandler, GetRepliesHandler } from './timeline.handlers.js';
import { TIMELINE_MIGRATIONS } from './timeline.migrations.js';
import { TIMELINE, timelineProjection } from './timeline.projection.js';

export * from './timeline.entities.js';
export * from './timeline.handlers.js';
export * from './timeline.migrations.js';
export * from './timeline.projection.js';
export * from './timeline.queries.js';

export const timeline: ReadModel = {
  name: TIMELINE,
  migrations: TIMELINE_MIGRATIONS,
  projection: timelineProjection,
  queryHandlers: [GetMessagesHandler, GetRepliesHandler],
};
