/** membership.v1: conversations, their members and activity. */
import type { ReadModel } from '../read-model.js';
import { GetConversationHandler, GetMembersHandler } from './membership.handlers.js';
import { MEMBERSHIP_MIGRATIONS } from './membership.migrations.js';
import { MEMBERSHIP, membershipProjection } from './membership.projection.js';

export * from './membership.baseline.js';
export * from './membership.entities.js';
export * from './membership.handlers.js';
export * from './membership.limits.js';
export * from './membership.migrations.js';
export * from './membership.projection.js';
export * from './membership.queries.js';

export const membership: ReadModel = {
  name: MEMBERSHIP,
  migrations: MEMBERSHIP_MIGRATIONS,
  projection: membershipProjection,
  queryHandlers: [GetConversationHandler, GetMembersHandler],
};
