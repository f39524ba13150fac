/** sessions.v1: each user's sign-in sessions, for the list of their devices. */
import type { ReadModel } from '../read-model.js';
import { GetSessionsHandler } from './sessions.handlers.js';
import { SESSIONS_MIGRATIONS } from './sessions.migrations.js';
import { SESSIONS, sessionsProjection } from './sessions.projection.js';

export * from './sessions.handlers.js';
export * from './sessions.migrations.js';
export * from './sessions.projection.js';
export * from './sessions.queries.js';

export const sessions: ReadModel = {
  name: SESSIONS,
  migrations: SESSIONS_MIGRATIONS,
  projection: sessionsProjection,
  queryHandlers: [GetSessionsHandler],
};
