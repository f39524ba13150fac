/**
 * The API's reads of invitations.v1 through the QueryBus: the caller's own pending
 * invitations, each with its group's name (from membership.v1: composed, not joined; ADR 011).
 */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { groupNames } from '../membership/membership.queries.js';
import { pendingInvitationsOf, type PendingInvitation } from './invitations.queries.js';

export type Invitation = PendingInvitation & { readonly name: string | null };

export interface InvitationsPage {
  readonly invitations: Invitation[];
  readonly nextCursor: string | null;
}

/** The caller's pending invitations by group id: only ever their own (the user id is the caller's). */
export class GetInvitations extends Query<InvitationsPage> {
  constructor(
    readonly userId: string,
    readonly page: { readonly cursor?: string; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetInvitations)
export class GetInvitationsHandler implements IQueryHandler<GetInvitations> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, page }: GetInvitations): Promise<InvitationsPage> {
    const { invitations, nextCursor } = await pendingInvitationsOf(this.db, userId, page);
    const names = await groupNames(
      this.db,
      invitations.map((i) => i.conversationId),
    );
    return { invitations: invitations.map((i) => ({ ...i, name: names.get(i.conversationId) ?? null })), nextCursor };
  }
}
