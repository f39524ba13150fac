/**
 * The API's reads of membership.v1 through the QueryBus, with the caller's access checked
 * on every read: members see a conversation; a member who left or was kicked still sees
 * its messages up to their leaving (timeline), and nothing else. Anyone else gets
 * NOT_FOUND, whether the conversation exists or not.
 */
import { ConversationError } from '@herald/conversations';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { moderationFor, silencedUntil } from '../moderation/moderation.queries.js';
import type { Sql } from '../sql.js';
import {
  conversationDetails,
  currentMembers,
  memberAccess,
  type ConversationDetails,
  type Member,
  type MemberAccess,
} from './membership.queries.js';

/** A conversation's details, with its moderation (moderation.v1) as the caller meets it. */
export interface ConversationView extends ConversationDetails {
  /** Only the owner and admins send. */
  readonly announcementOnly: boolean;
  /** The caller's own silence: its end (ISO), or null when not silenced now. */
  readonly silencedUntil: string | null;
}

/** A current member, with the end of their silence (null when not silenced now). */
export interface MemberView extends Member {
  readonly silencedUntil: string | null;
}

const notFound = (): ConversationError =>
  new ConversationError('CONVERSATION.NOT_FOUND', 'No such conversation, or you are not a member');

/** The caller's place in the conversation, past or present; NOT_FOUND when they never were a member. */
export async function accessOf(db: Sql, userId: string, conversationId: string): Promise<MemberAccess> {
  const access = await memberAccess(db, conversationId, userId);
  if (!access) throw notFound();
  return access;
}

/** NOT_FOUND unless the caller is a member now. */
export async function requireMember(db: Sql, userId: string, conversationId: string): Promise<void> {
  if ((await accessOf(db, userId, conversationId)).leftSeq !== null) throw notFound();
}

export class GetConversation extends Query<ConversationView> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
  ) {
    super();
  }
}

@QueryHandler(GetConversation)
export class GetConversationHandler implements IQueryHandler<GetConversation> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId }: GetConversation): Promise<ConversationView> {
    await requireMember(this.db, userId, conversationId);
    const details = await conversationDetails(this.db, conversationId);
    if (!details) throw notFound();
    return { ...details, ...(await moderationFor(this.db, conversationId, userId, new Date())) };
  }
}

export interface MembersPage {
  readonly members: MemberView[];
  readonly nextCursor: string | null;
}

/** The current members by user id, a page at a time. */
export class GetMembers extends Query<MembersPage> {
  constructor(
    readonly userId: string,
    readonly conversationId: string,
    readonly page: { readonly cursor?: string; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetMembers)
export class GetMembersHandler implements IQueryHandler<GetMembers> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, conversationId, page }: GetMembers): Promise<MembersPage> {
    await requireMember(this.db, userId, conversationId);
    const { members, nextCursor } = await currentMembers(this.db, conversationId, page);
    const silenced = await silencedUntil(
      this.db,
      conversationId,
      members.map((m) => m.userId),
      new Date(),
    );
    return { members: members.map((m) => ({ ...m, silencedUntil: silenced.get(m.userId) ?? null })), nextCursor };
  }
}
