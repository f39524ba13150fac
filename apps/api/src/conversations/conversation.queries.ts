/**
 * The conversation reads the API dispatches on the QueryBus that come from the
 * conversation's own stream rather than a read model. Push uses it: a socket is admitted to
 * a conversation only on what the stream says (ADR 010), never on a projection that may lag.
 */
import { ConversationService, moderationRefusal } from '@herald/conversations';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';

/** A current member's view of a conversation: how far it goes, and the other party of a direct one. */
export interface StreamMembership {
  readonly seq: number;
  readonly peer: string | undefined;
  /** Whether they may send now: the group is not dissolved, and its moderation lets them write. */
  readonly maySend: boolean;
}

/** `userId`'s membership of the conversation as its stream says now (undefined: not a member). */
export class GetStreamMembership extends Query<StreamMembership | undefined> {
  constructor(
    readonly conversationId: string,
    readonly userId: string,
    /** Read after the query is made (not joining a read already on its way): `ConversationService.freshState`. */
    readonly fresh = false,
  ) {
    super();
  }
}

@QueryHandler(GetStreamMembership)
export class GetStreamMembershipHandler implements IQueryHandler<GetStreamMembership> {
  constructor(private readonly conversations: ConversationService) {}

  async execute({ conversationId, userId, fresh }: GetStreamMembership): Promise<StreamMembership | undefined> {
    const state = await (fresh
      ? this.conversations.freshState(conversationId)
      : this.conversations.state(conversationId));
    if (!state.members.has(userId)) return undefined;
    const peer = state.kind === 'direct' ? [...state.members.keys()].find((id) => id !== userId) : undefined;
    return {
      seq: state.seq,
      peer,
      maySend: !state.dissolved && moderationRefusal(state, userId, new Date()) === undefined,
    };
  }
}

export const CONVERSATION_QUERY_HANDLERS = [GetStreamMembershipHandler];
