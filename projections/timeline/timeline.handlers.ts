/**
 * The API's reads of timeline.v1 through the QueryBus: a page of a conversation's messages,
 * as they are now for members, and as they were at their leaving for a member who left or
 * was kicked (ADR 008). Anyone else gets NOT_FOUND.
 */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { accessOf } from '../membership/membership.handlers.js';
import { timelinePage, type TimelineMessage } from './timeline.queries.js';

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
