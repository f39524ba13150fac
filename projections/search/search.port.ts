/**
 * The search port: what the search read model writes (messages sent, edited, deleted) and
 * what a search asks (a parsed query, the spans of conversations the caller may read,
 * filters, a keyset cursor). Two adapters: PostgreSQL (search.postgres.ts, the default)
 * and Elasticsearch (search.elasticsearch.ts); one contract suite (search.contract.ts).
 */
import { boundedDateTime } from '@herald/events';
import { z } from 'zod';
import type { QueryGroup } from './search.analysis.js';

export interface SearchDocument {
  readonly conversationId: string;
  readonly messageId: string;
  /** The message's seq in its conversation. */
  readonly seq: number;
  readonly senderId: string;
  /** ISO 8601. */
  readonly sentAt: string;
  readonly hasAttachment: boolean;
  readonly text: string;
}

/**
 * A change to the index. `seq` is the seq of the event that made it (its position in the
 * conversation's stream): every change to one message comes from one stream, so the seq
 * orders them, and an adapter applies a change only over an older one.
 */
export type SearchChange =
  | { readonly kind: 'sent'; readonly document: SearchDocument }
  | { readonly kind: 'edited'; readonly messageId: string; readonly seq: number; readonly text: string }
  | { readonly kind: 'deleted'; readonly messageId: string; readonly seq: number };

/** A conversation the caller may read: all of it (`leftSeq` null) or up to their leaving. */
export interface SearchScope {
  readonly conversationId: string;
  readonly leftSeq: number | null;
  /** How many messages it has had, when known: an adapter may choose its plan by it. */
  readonly messageCount?: number;
}

/** The oldest of a first page's candidates (sent_at, then message id): later pages rank from it on. */
// Times as this search hands them out (UTC, 1970 through 9999): a hand-made one such as
// year 0000 or a +20:00 offset would reach PostgreSQL's ::timestamptz and fail there (500).
export const SearchFloor = z.strictObject({
  sentAt: boundedDateTime(),
  messageId: z.guid(),
});
export type SearchFloor = z.output<typeof SearchFloor>;

/**
 * Where the next page starts: the last hit's sort key (score, then newest first, then
 * message id), and, from an adapter that ranks a bounded set of candidates (PostgreSQL:
 * the newest matches), the oldest of them, so that every page ranks the same set.
 */
export const SearchCursor = z.strictObject({
  score: z.number().finite(),
  sentAt: boundedDateTime(),
  messageId: z.guid(),
  floor: SearchFloor.optional(),
});
export type SearchCursor = z.output<typeof SearchCursor>;

/** What a caller narrows a search by, and its page: the same from the API down to an adapter. */
export interface SearchFilters {
  readonly conversationId?: string;
  readonly senderId?: string;
  /** ISO 8601 bounds of the time sent: before (exclusive), after (exclusive). */
  readonly sentBefore?: string;
  readonly sentAfter?: string;
  readonly hasAttachment?: boolean;
  readonly limit: number;
  readonly cursor?: SearchCursor;
}

export interface SearchRequest extends SearchFilters {
  readonly groups: readonly QueryGroup[];
  readonly scopes: readonly SearchScope[];
}

export interface SearchHit {
  readonly conversationId: string;
  readonly messageId: string;
  readonly seq: number;
  readonly senderId: string;
  readonly sentAt: string;
  readonly hasAttachment: boolean;
  /** HTML-escaped text around the matches, each in `<mark>…</mark>`. */
  readonly snippet: string;
  readonly score: number;
}

export interface SearchPage {
  readonly hits: SearchHit[];
  readonly nextCursor: SearchCursor | null;
}

export interface SearchIndex {
  write(changes: readonly SearchChange[]): Promise<void>;
  search(request: SearchRequest): Promise<SearchPage>;
}

export const encodeSearchCursor = (cursor: SearchCursor): string =>
  Buffer.from(
    JSON.stringify([
      cursor.score,
      cursor.sentAt,
      cursor.messageId,
      ...(cursor.floor ? [cursor.floor.sentAt, cursor.floor.messageId] : []),
    ]),
  ).toString('base64url');

/** The cursor a page gave, or null when the text is no such cursor. */
export function decodeSearchCursor(text: string): SearchCursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    const tuple = z
      .union([
        z.tuple([z.number(), z.string(), z.string()]),
        z.tuple([z.number(), z.string(), z.string(), z.string(), z.string()]),
      ])
      .safeParse(parsed);
    if (!tuple.success) return null;
    const [score, sentAt, messageId, floorSentAt, floorMessageId] = tuple.data;
    const floor =
      floorSentAt !== undefined && floorMessageId !== undefined
        ? { sentAt: floorSentAt, messageId: floorMessageId }
        : undefined;
    const cursor = SearchCursor.safeParse({ score, sentAt, messageId, ...(floor ? { floor } : {}) });
    return cursor.success ? cursor.data : null;
  } catch {
    return null;
  }
}
