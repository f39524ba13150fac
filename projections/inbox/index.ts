/** inbox.v1: unread and mention counts, read and delivery markers. */
import type { ReadModel } from '../read-model.js';
import { GetInboxHandler, GetReceiptsHandler } from './inbox.handlers.js';
import { INBOX_MIGRATIONS } from './inbox.migrations.js';
import { INBOX, inboxProjection } from './inbox.projection.js';

export * from './inbox.handlers.js';
export * from './inbox.migrations.js';
export * from './inbox.projection.js';
export * from './inbox.queries.js';

export const inbox: ReadModel = {
  name: INBOX,
  migrations: INBOX_MIGRATIONS,
  projection: inboxProjection,
  queryHandlers: [GetInboxHandler, GetReceiptsHandler],
};
