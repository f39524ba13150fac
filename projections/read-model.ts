/**
 * What a read model module gives the app: its projection, its migrations, and the query
 * handlers that answer from its tables. The registry lists them; nothing else needs to
 * know a read model's parts.
 */
import type { Migration } from '@herald/database';
import type { Projection } from '@herald/projection-runtime';
import type { Type } from '@nestjs/common';
import type { SearchLanguage } from '@herald/config';

/** What the app's configuration tells the read models (SEARCH_LANGUAGE for search.v1's stemming). */
export interface ReadModelOptions {
  readonly language?: SearchLanguage;
}

export interface ReadModel {
  /** The projection's name with its version (`inbox.v1`): its checkpoint and /health name it so. */
  readonly name: string;
  /** Its tables, named `rm_<name>_v<version>_...`, in order. */
  readonly migrations: readonly Migration[];
  readonly projection: (options?: ReadModelOptions) => Projection;
  /** Nest `@QueryHandler` classes: the edge where the API's QueryBus reaches its queries. */
  readonly queryHandlers: readonly Type[];
}

/**
 * What every table of a read model's version starts with (`rm_<name>_v<version>_`, from `<name>.v<version>`):
 * the next version's tables are built beside these under their own prefix.
 */
export const tablePrefix = (readModel: Pick<ReadModel, 'name'>): string => `rm_${readModel.name.replace('.', '_')}_`;
