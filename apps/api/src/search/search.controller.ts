/**
 * `GET /search`: the caller's messages that match a query, only from the conversations
 * they may read and only the span they may read (current members all of it, members who
 * left or were kicked up to their leaving, as the timeline shows them: ADR 008, ADR 017).
 * `after` is the read-your-writes checkpoint, as on every query; the time bounds are
 * `sentBefore` and `sentAfter`. Membership decides who reads what, so a stopped or stale
 * membership read model refuses the search (503) rather than answer from it.
 */
import { Controller, Get, UseGuards, UseInterceptors } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { boundedDateTime } from '@herald/events';
import type { AccessClaims } from '@herald/identity';
import { ReadsFrom, ReadYourWrites, Uuid, ZodQuery } from '@herald/nest';
import {
  decodeSearchCursor,
  encodeSearchCursor,
  MEMBERSHIP,
  SEARCH,
  MAX_QUERY_LENGTH,
  SearchMessages,
  type SearchHit,
} from '@herald/projections';
import { z } from 'zod';
import { Caller } from '../auth/auth.guard.js';
import { RateLimits } from '../auth/rate-limits.js';
import { MembershipCurrent } from '../conversations/membership-current.guard.js';
import { PageLimit } from '../paging.js';

const Cursor = z
  .string()
  .max(512)
  .transform((text, ctx) => {
    const cursor = decodeSearchCursor(text);
    if (cursor) return cursor;
    ctx.addIssue({ code: 'custom', message: 'not a cursor this search gave' });
    return z.NEVER;
  });

export const SearchQuery = z.strictObject({
  q: z
    .string()
    .min(1)
    .max(MAX_QUERY_LENGTH)
    .describe(
      `Words (prefixes match), "quoted phrases", any language (CJK substrings of 1+ characters); at most ${MAX_QUERY_LENGTH} characters. Never query syntax.`,
    ),
  conversationId: Uuid.optional().describe('Only this conversation'),
  senderId: Uuid.optional().describe('Only messages this user sent'),
  sentBefore: boundedDateTime().optional().describe('Only messages sent before this time (UTC, exclusive)'),
  sentAfter: boundedDateTime().optional().describe('Only messages sent after this time (UTC, exclusive)'),
  hasAttachment: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('Only messages with (true) or without (false) attachments'),
  limit: PageLimit,
  cursor: Cursor.optional().describe('nextCursor of the page before'),
  after: z.string().optional(),
});

export interface SearchResults {
  readonly results: Omit<SearchHit, 'score'>[];
  readonly nextCursor: string | null;
}

@Controller('search')
export class SearchController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly limits: RateLimits,
  ) {}

  /** Best matches first, then the newest; a page at a time by keyset. */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @ReadsFrom(MEMBERSHIP, SEARCH)
  @Get()
  async search(
    @Caller() caller: AccessClaims,
    @ZodQuery(SearchQuery) query: z.output<typeof SearchQuery>,
  ): Promise<SearchResults> {
    // Searches cost more than reads by key: a budget of their own (RATE_LIMIT_SEARCH_PER_SECOND).
    this.limits.searches.take(caller.userId);
    const { after: _after, ...params } = query;
    const page = await this.queryBus.execute(new SearchMessages(caller.userId, params));
    return {
      results: page.hits.map(({ score: _score, ...hit }) => hit),
      nextCursor: page.nextCursor && encodeSearchCursor(page.nextCursor),
    };
  }
}
