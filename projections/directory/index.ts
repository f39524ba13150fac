/** directory.v1: users and profiles, contacts, blocks. */
import type { ReadModel } from '../read-model.js';
import {
  FindUsersHandler,
  GetBlocksHandler,
  GetContactRequestsHandler,
  GetContactsHandler,
} from './directory.handlers.js';
import { DIRECTORY_MIGRATIONS } from './directory.migrations.js';
import { DIRECTORY, directoryProjection } from './directory.projection.js';

export * from './directory.entities.js';
export * from './directory.handlers.js';
export * from './directory.migrations.js';
export * from './directory.projection.js';
export * from './directory.queries.js';

export const directory: ReadModel = {
  name: DIRECTORY,
  migrations: DIRECTORY_MIGRATIONS,
  projection: directoryProjection,
  queryHandlers: [FindUsersHandler, GetContactsHandler, GetContactRequestsHandler, GetBlocksHandler],
};
