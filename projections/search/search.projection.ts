/**
 * search.v1: follows the conversations' messages into the search index. Sends index a
 * message, edits index its new text (the old one is kept for members who left before the
 * edit), deletions take it out of what current members find; reactions, receipts and
 * membership never touch it (its filter does not read them). Idempotent: each change is
 * guarded by the seq that made it (search.postgres.ts). Who may find what is decided at
 * query time, from membership.v1's spans.
 */
import { readEvent, streamPrefixOf, type EventIn } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { SearchChange } from './search.port.js';
import { PostgresSearchIndex, type SearchLanguage } from './search.postgres.js';

export const SEARCH = 'search.v1';

export interface SearchOptions {
  /** The stemmed part's text search configuration (SEARCH_LANGUAGE); `english` when not given. */
  readonly language?: SearchLanguage;
}

type MessageEvent = Extract<EventIn<'conversation'>, { type: 'MessageSent' | 'MessageEdited' | 'MessageDeleted' }>;

/** The index's change for a message event at its seq (pure). */
export function searchChangeOf(event: MessageEvent, seq: number, occurredAt: string): SearchChange {
  switch (event.type) {
    case 'MessageSent':
      return {
        kind: 'sent',
        document: {
          conversationId: event.data.conversationId,
          messageId: event.data.messageId,
          seq,
          senderId: event.data.senderId,
          sentAt: occurredAt,
          hasAttachment: event.data.attachments.length > 0,
          text: event.data.text,
        },
      };
    case 'MessageEdited':
      return { kind: 'edited', messageId: event.data.messageId, seq, text: event.data.text };
    case 'MessageDeleted':
      return { kind: 'deleted', messageId: event.data.messageId, seq };
    default: {
      const unhandled: never = event;
      throw new Error(`search.v1 does not read ${(unhandled as { type: string }).type}`);
    }
  }
}

export function searchProjection(options: SearchOptions = {}): Projection {
  return {
    name: SEARCH,
    // Catching up from position 0, larger batches mean fewer transactions and GIN merges.
    batchSize: 1000,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation')],
      eventTypes: ['MessageSent', 'MessageEdited', 'MessageDeleted'],
    },
    apply: async (events, manager) => {
      const changes = events.flatMap((recorded) => {
        const { data } = readEvent(recorded);
        const event = { type: recorded.type, data } as MessageEvent;
        if (event.type !== 'MessageSent' && event.type !== 'MessageEdited' && event.type !== 'MessageDeleted')
          return [];
        return [searchChangeOf(event, recorded.streamRevision, recorded.metadata.occurredAt)];
      });
      await new PostgresSearchIndex(manager, options.language).write(changes);
    },
  };
}
