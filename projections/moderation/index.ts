/** moderation.v1: announcement-only groups, silences, bans and pins. */
import type { ReadModel } from '../read-model.js';
import { GetBansHandler, GetPinsHandler } from './moderation.handlers.js';
import { MODERATION_MIGRATIONS } from './moderation.migrations.js';
import { MODERATION, moderationProjection } from './moderation.projection.js';

export * from './moderation.handlers.js';
export * from './moderation.migrations.js';
export * from './moderation.projection.js';
export * from './moderation.queries.js';

export const moderation: ReadModel = {
  name: MODERATION,
  migrations: MODERATION_MIGRATIONS,
  projection: moderationProjection,
  queryHandlers: [GetPinsHandler, GetBansHandler],
};
