/** search.v1: message text for full-text search, searched within the spans membership.v1 lets a caller read. */
import type { ReadModel } from '../read-model.js';
import { SearchMessagesHandler } from './search.handlers.js';
import { SEARCH_MIGRATIONS } from './search.migrations.js';
import { SEARCH, searchProjection } from './search.projection.js';

export * from './search.analysis.js';
export * from './search.elasticsearch.js';
export * from './search.handlers.js';
export * from './search.migrations.js';
export * from './search.port.js';
export * from './search.postgres.js';
export * from './search.projection.js';

export const search: ReadModel = {
  name: SEARCH,
  migrations: SEARCH_MIGRATIONS,
  projection: searchProjection,
  queryHandlers: [SearchMessagesHandler],
};
