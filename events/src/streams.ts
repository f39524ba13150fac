/**
 * Stream names: `<category's prefix><id>`, e.g. `conversation-<conversationId>`. The
 * prefixes are written once, in the categories (define.ts); everything else names streams
 * through these helpers.
 */
import { CATEGORIES, INTERNAL_CATEGORIES, type Category, type InternalCategory } from './define.js';

/** Every category a stream can belong to, public or internal. */
export type StreamCategory = Category | InternalCategory;

const ALL_CATEGORIES: Readonly<Record<StreamCategory, { readonly streamPrefix: string }>> = {
  ...CATEGORIES,
  ...INTERNAL_CATEGORIES,
};

/** The prefix of a category's streams, e.g. `conversation-`: for filters on the log. */
export function streamPrefixOf(category: StreamCategory): string {
  return ALL_CATEGORIES[category].streamPrefix;
}

/** The stream of one entity, e.g. `streamIdOf('conversation', id)` is `conversation-<id>`. */
export function streamIdOf(category: StreamCategory, id: string): string {
  return `${streamPrefixOf(category)}${id}`;
}

/** The entity id of a stream of that category; undefined when the stream is of another. */
export function idOfStream(category: StreamCategory, streamId: string): string | undefined {
  const prefix = streamPrefixOf(category);
  return streamId.startsWith(prefix) ? streamId.slice(prefix.length) : undefined;
}

/** The public category a stream belongs to (undefined for internal and unknown streams). */
export function categoryOfStream(streamId: string): Category | undefined {
  return (Object.keys(CATEGORIES) as Category[]).find((c) => streamId.startsWith(CATEGORIES[c].streamPrefix));
}

/** Stream id prefixes of the public categories: the streams the integration stream carries. */
export const STREAM_PREFIXES: readonly string[] = Object.values(CATEGORIES).map((c) => c.streamPrefix);
