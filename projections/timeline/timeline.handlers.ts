/**
 * The API's reads of timeline.v1 through the QueryBus: a page of a conversation's messages,
 * as they are now for members, and as they were at their leaving for a member who left or
 * was kicked (ADR 008). Anyone else gets NOT_FOUND.
 */
import { ConversationError } from '@herald/conversations';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { markers } from '../inbox/inbox.queries.js';
import { accessOf } from '../membership/membership.handlers.js';
import { messageSeq, threadFacts, timelinePage, type TimelineMessage } from './timeline.queries.js';

export interface MessagesPage {
  readonly messages: TimelineMessage[];
  readonly nextCursor: number | null;
}

/** `before` (older, newest first) or `after` (newer, oldest first) a seq. */
export class GetMessages extends Query<MessagesPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly page: { readonly before?: number; readonly after?: number; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetMessages)
export class GetMessagesHandler implements IQueryHandler<GetMessages> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, page }: GetMessages): Promise<MessagesPage> {
    const access = await accessOf(this.db, userId, conversationId);
    return timelinePage(this.db, conversationId, {
      ...page,
      ...(access.leftSeq !== null ? { asOf: access.leftSeq } : {}),
    });
  }
}

export interface RepliesPage extends MessagesPage {
  /** The message replied to, as the caller may read it. */
  readonly root: TimelineMessage;
  /** Who wrote the root or a reply not deleted, by user id (at most 100; `participantCount` counts all). */
  readonly participants: string[];
  readonly participantCount: number;
  /**
   * For a member in the thread (who wrote the root or a reply, or is named in one, not
   * deleted): its replies not deleted, by others, after their read marker. Null otherwise,
   * and for a member who left or was kicked.
   */
  readonly unreadCount: number | null;
}

/** A thread: the replies to one message, paged by seq as the timeline is, with its participants. */
export class GetReplies extends Query<RepliesPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly messageId: string,
    readonly page: { readonly before?: number; readonly after?: number; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetReplies)
export class GetRepliesHandler implements IQueryHandler<GetReplies> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, messageId, page }: GetReplies): Promise<RepliesPage> {
    // Who may read the conversation may read its threads, as far as they may read it.
    const access = await accessOf(this.db, userId, conversationId);
    const asOf = access.leftSeq ?? undefined;
    const seq = await messageSeq(this.db, conversationId, messageId);
    if (seq === null || (asOf !== undefined && seq > asOf)) {
      throw new ConversationError('MESSAGE.NOT_FOUND', 'No such message in this conversation');
    }
    const at = asOf !== undefined ? { asOf } : {};
    const [roots, replies, marker] = await Promise.all([
      timelinePage(this.db, conversationId, { before: seq + 1, limit: 1, ...at }),
      timelinePage(this.db, conversationId, { ...page, replyTo: messageId, ...at }),
      markers(this.db, conversationId, [userId]),
    ]);
    const readSeq = marker.get(userId)?.readSeq ?? -1;
    const facts = await threadFacts(this.db, conversationId, messageId, { userId, readSeq }, asOf);
    return {
      root: roots.messages[0]!,
      ...replies,
      participants: facts.participants,
      participantCount: facts.participantCount,
      unreadCount: asOf === undefined && facts.involved ? facts.unread : null,
    };
  }
}
