/**
 * The API's search through the QueryBus: the caller's readable spans from membership.v1
 * (every conversation they are in, and those they left up to their leaving), then the
 * search index within them. Someone in no conversation finds nothing.
 */
import { Inject, Optional } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { readableConversations } from '../membership/membership.queries.js';
import { parseQuery } from './search.analysis.js';
import type { SearchFilters, SearchPage } from './search.port.js';
import { PostgresSearchIndex } from './search.postgres.js';
import type { SearchOptions } from './search.projection.js';

/** The app's SearchOptions (SEARCH_LANGUAGE), for the query side to stem as the projection did. */
export const SEARCH_OPTIONS = Symbol('SEARCH_OPTIONS');

export interface SearchParams extends SearchFilters {
  readonly q: string;
}

export class SearchMessages extends Query<SearchPage> {
  constructor(
    readonly userId: string,
    readonly params: SearchParams,
  ) {
    super();
  }
}

@QueryHandler(SearchMessages)
export class SearchMessagesHandler implements IQueryHandler<SearchMessages> {
  constructor(
    private readonly db: DataSource,
    @Optional() @Inject(SEARCH_OPTIONS) private readonly options?: SearchOptions,
  ) {}

  async execute({ userId, params }: SearchMessages): Promise<SearchPage> {
    const groups = parseQuery(params.q);
    if (groups.length === 0) return { hits: [], nextCursor: null };
    const scopes = await readableConversations(this.db, userId);
    const { q: _q, ...filters } = params;
    return new PostgresSearchIndex(this.db, this.options?.language).search({ groups, scopes, ...filters });
  }
}
