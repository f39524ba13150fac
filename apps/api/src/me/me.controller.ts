/**
 * What concerns the caller alone: their pending group invitations and contact requests,
 * and their sign-in sessions (one per device), which they may sign out one by one. Every
 * read is of the caller's own rows (the user id is the token's): there is no way to name
 * another user here.
 */
import { Controller, Delete, Get, Req, UseInterceptors } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { AccessClaims } from '@herald/identity';
import { ReadYourWrites, Uuid, ZodParam, ZodQuery } from '@herald/nest';
import {
  GetContactRequests,
  GetInvitations,
  GetSessions,
  type ContactRequest,
  type InvitationsPage,
  type SessionsPage,
} from '@herald/projections';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { SignOutSessionCommand } from '../auth/identity.commands.js';
import { PageLimit, UserCursor } from '../paging.js';

/** Lists by id (a group's, a user's, a session's): the last id of the page before. */
const ListQuery = z.strictObject({
  after: z.string().optional(),
  cursor: UserCursor,
  limit: PageLimit,
});

const page = ({ limit, cursor }: z.output<typeof ListQuery>) => ({
  limit,
  ...(cursor !== undefined ? { cursor } : {}),
});

@Controller('me')
export class MeController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commands: CommandBus,
  ) {}

  /** Pending invitations to groups: the group's id and name, who invited and when. */
  @UseInterceptors(ReadYourWrites)
  @Get('invitations')
  invitations(
    @Caller() caller: AccessClaims,
    @ZodQuery(ListQuery) q: z.output<typeof ListQuery>,
  ): Promise<InvitationsPage> {
    return this.queryBus.execute(new GetInvitations(caller.userId, page(q)));
  }

  /** Pending contact requests both ways: `received` (accept or decline them) and `sent`. */
  @UseInterceptors(ReadYourWrites)
  // eslint-disable-next-line no-restricted-syntax -- a route, not a stream
  @Get('contact-requests')
  contactRequests(
    @Caller() caller: AccessClaims,
    @ZodQuery(ListQuery) q: z.output<typeof ListQuery>,
  ): Promise<{ requests: ContactRequest[]; nextCursor: string | null }> {
    return this.queryBus.execute(new GetContactRequests(caller.userId, page(q)));
  }

  /** The caller's sessions that can still be used, `current` the one asking. */
  @UseInterceptors(ReadYourWrites)
  @Get('sessions')
  sessions(@Caller() caller: AccessClaims, @ZodQuery(ListQuery) q: z.output<typeof ListQuery>): Promise<SessionsPage> {
    return this.queryBus.execute(new GetSessions(caller.userId, caller.sessionId, page(q)));
  }

  /** Signs a session out, as its own sign-out would: its refresh token stops working and its sockets close. */
  @Delete('sessions/:sessionId')
  async signOutSession(
    @Caller() caller: AccessClaims,
    @ZodParam('sessionId', Uuid) sessionId: string,
    @Req() request: FastifyRequest,
  ): Promise<{ sessionId: string; checkpoint: string | null }> {
    const checkpoint = await this.commands.execute(
      new SignOutSessionCommand(caller, sessionId, requestContext(request)),
    );
    return { sessionId, checkpoint };
  }
}
