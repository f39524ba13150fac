/**
 * The API's reads of the inbox through the QueryBus: a user's conversation list with unread
 * and mention counts, and a conversation's receipts. Each composes queries of the read
 * models that own the facts (membership: the list and its order; inbox: the counts and
 * markers; timeline: the last message's marks; directory: blocks), one statement each,
 * rather than one statement reading every folder's tables (ADR 011).
 */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { blockedBy } from '../directory/directory.queries.js';
import { requireMember } from '../membership/membership.handlers.js';
import {
  conversationKind,
  conversationsOf,
  currentMembers,
  type ActivityPosition,
  type ListedConversation,
} from '../membership/membership.queries.js';
import { messageMarks } from '../timeline/timeline.queries.js';
import { markers, unreadCounts, type Unread } from './inbox.queries.js';

export interface ConversationSummary extends Omit<ListedConversation, 'lastMessage'>, Unread {
  readonly lastMessage:
    | (NonNullable<ListedConversation['lastMessage']> & {
        /** So that a client can show "deleted" or "a file" where the preview is empty. */
        readonly deleted: boolean;
        readonly attachmentCount: number;
      })
    | null;
}

export interface InboxPage {
  readonly conversations: ConversationSummary[];
  /** Where the next page starts; null on the last. */
  readonly nextCursor: ActivityPosition | null;
}

/** The caller's conversations, most recently active first, a page at a time. */
export class GetInbox extends Query<InboxPage> {
  constructor(
    readonly userId: string,
    readonly page: { readonly cursor?: ActivityPosition; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetInbox)
export class GetInboxHandler implements IQueryHandler<GetInbox> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, page }: GetInbox): Promise<InboxPage> {
    const { conversations, nextCursor } = await conversationsOf(this.db, userId, page);
    const ids = conversations.map((c) => c.conversationId);
    const unread = await unreadCounts(this.db, userId, ids);
    const marks = await messageMarks(
      this.db,
      conversations.flatMap((c) => (c.lastMessage ? [c.lastMessage.messageId] : [])),
    );
    return {
      conversations: conversations.map(({ lastMessage, ...c }) => {
        const mark = lastMessage ? marks.get(lastMessage.messageId) : undefined;
        return {
          ...c,
          lastMessage: lastMessage
            ? { ...lastMessage, deleted: mark?.deleted ?? false, attachmentCount: mark?.attachmentCount ?? 0 }
            : null,
          ...unread.get(c.conversationId)!,
        };
      }),
      nextCursor,
    };
  }
}

/** How far a member has received and read a conversation (delivery and read receipts). */
export interface Receipt {
  readonly userId: string;
  readonly readSeq: number;
  readonly deliveredSeq: number;
}

export interface ReceiptsPage {
  readonly receipts: Receipt[];
  readonly nextCursor: string | null;
}

/** The current members' receipts by user id, a page at a time. */
export class GetReceipts extends Query<ReceiptsPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly page: { readonly cursor?: string; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetReceipts)
export class GetReceiptsHandler implements IQueryHandler<GetReceipts> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, page }: GetReceipts): Promise<ReceiptsPage> {
    await requireMember(this.db, userId, conversationId);
    const { members, nextCursor } = await currentMembers(this.db, conversationId, page);
    const ids = members.map((m) => m.userId);
    const marked = await markers(this.db, conversationId, ids);
    // In a direct conversation, the markers of a member the caller blocked are not shown
    // (ADR 007): what a blocked user does reaches the one who blocked them nowhere.
    const hidden =
      (await conversationKind(this.db, conversationId)) === 'direct'
        ? await blockedBy(this.db, userId, ids)
        : new Set<string>();
    return {
      receipts: members.map(({ userId: id }) => {
        const shown = hidden.has(id) ? undefined : marked.get(id);
        return { userId: id, readSeq: shown?.readSeq ?? -1, deliveredSeq: shown?.deliveredSeq ?? -1 };
      }),
      nextCursor,
    };
  }
}
