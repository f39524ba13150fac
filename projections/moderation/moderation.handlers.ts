/**
 * The API's reads of moderation.v1 through the QueryBus. Pins are read as the timeline is
 * (ADR 008): members see them as they stand, a member who left or was kicked (or banned)
 * as they stood at their leaving, with each message as it read then; anyone else gets
 * NOT_FOUND. The bans are the admins' and the owner's to see: other members get FORBIDDEN.
 * Each composes membership.v1 (who may read), this read model, and the timeline (the
 * pinned messages), one statement each (ADR 011).
 */
import { ConversationError } from '@herald/conversations';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { accessOf } from '../membership/membership.handlers.js';
import { timelinePage, type TimelineMessage } from '../timeline/timeline.queries.js';
import { bansPage, pinsPage, type Ban, type Pin } from './moderation.queries.js';

export interface PinnedMessage extends Omit<Pin, 'messageId'> {
  /** The message, as `GET .../messages` shows it to the caller. */
  readonly message: TimelineMessage;
}

export interface PinsPage {
  readonly pins: PinnedMessage[];
  /** The `pinnedSeq` to pass as `before=` for the next page; null on the last. */
  readonly nextCursor: number | null;
}

/** The pins of a conversation, the most recently pinned first, a page at a time. */
export class GetPins extends Query<PinsPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly page: { readonly before?: number; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetPins)
export class GetPinsHandler implements IQueryHandler<GetPins> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, page }: GetPins): Promise<PinsPage> {
    const access = await accessOf(this.db, userId, conversationId);
    const asOf = access.leftSeq !== null ? { asOf: access.leftSeq } : {};
    const { pins, nextCursor } = await pinsPage(this.db, conversationId, { ...page, ...asOf });
    if (pins.length === 0) return { pins: [], nextCursor };
    const { messages } = await timelinePage(this.db, conversationId, {
      limit: pins.length,
      messageIds: pins.map((p) => p.messageId),
      ...asOf,
    });
    const byId = new Map(messages.map((m) => [m.messageId, m]));
    // A pin whose message the timeline has not applied yet (read models follow the log each
    // at its pace; `?after=` waits for both) is left out rather than shown without it.
    return {
      pins: pins.flatMap(({ messageId, ...pin }) => {
        const message = byId.get(messageId);
        return message ? [{ ...pin, message }] : [];
      }),
      nextCursor,
    };
  }
}

export interface BansPage {
  readonly bans: Ban[];
  readonly nextCursor: string | null;
}

/** The users banned from a group, by user id, a page at a time: its owner and admins only. */
export class GetBans extends Query<BansPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly page: { readonly cursor?: string; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetBans)
export class GetBansHandler implements IQueryHandler<GetBans> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, page }: GetBans): Promise<BansPage> {
    const access = await accessOf(this.db, userId, conversationId);
    if (access.leftSeq !== null) {
      throw new ConversationError('CONVERSATION.NOT_FOUND', 'No such conversation, or you are not a member');
    }
    if (access.role !== 'owner' && access.role !== 'admin') {
      throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only admins see who is banned');
    }
    return bansPage(this.db, conversationId, page);
  }
}
