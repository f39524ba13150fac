/**
 * The read models, in the order their migrations run and /health lists them. The app
 * module (projections, migrations, query handlers), /health, the tests and the rebuild
 * tooling all read this list, and `@herald/projections` exports each folder from here: a
 * new read model is a folder, and here its import, its export and its place in the list.
 */
import type { Migration } from '@herald/database';
import type { Projection } from '@herald/projection-runtime';
import type { Type } from '@nestjs/common';
import { directory } from './directory/index.js';
import { inbox } from './inbox/index.js';
import { invitations } from './invitations/index.js';
import { membership } from './membership/index.js';
import { moderation } from './moderation/index.js';
import type { ReadModel, ReadModelOptions } from './read-model.js';
import { search } from './search/index.js';
import { sessions } from './sessions/index.js';
import { timeline } from './timeline/index.js';

export * from './directory/index.js';
export * from './inbox/index.js';
export * from './invitations/index.js';
export * from './membership/index.js';
export * from './moderation/index.js';
export * from './search/index.js';
export * from './sessions/index.js';
export * from './timeline/index.js';

export const READ_MODELS: readonly ReadModel[] = [
  membership,
  timeline,
  inbox,
  directory,
  search,
  invitations,
  sessions,
  moderation,
];

/**
 * How long events gather at the head of the log before a read model applies them (the
 * runner's `gatherMs`), wherever the read models run (the API, apps/projector): a query
 * without a checkpoint may see them that much older, and one with a checkpoint does not
 * wait for it (docs/benchmarks.md: the transactions it saves).
 */
export const READ_MODEL_GATHER_MS = 20;

/** Every read model's migrations, in order. */
export const readModelMigrations = (): Migration[] => READ_MODELS.flatMap((m) => m.migrations);

/** A fresh projection of every read model. */
export const readModelProjections = (options: ReadModelOptions = {}): Projection[] =>
  READ_MODELS.map((m) => m.projection(options));

/** Every read model's query handlers, for the app's QueryBus. */
export const readModelQueryHandlers = (): Type[] => READ_MODELS.flatMap((m) => m.queryHandlers);
