/**
 * Other users: profiles, contacts (requests, accepting, declining, removing) and blocks.
 * Commands answer with the `checkpoint` they produced (null when nothing changed); the
 * lists take it as `?after=` (or the `x-herald-after` header), as conversations do, and
 * page by the other user's id (paging.ts).
 */
import { Controller, Delete, Get, HttpCode, Post, Put, Req, UseInterceptors } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { AccessClaims, Profile } from '@herald/identity';
import { FindUsers, GetBlocks, GetContacts, type Contact } from '@herald/projections';
import { NoQuery, ReadYourWrites, Uuid, ZodParam, ZodQuery } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { ChangeBlockCommand, ChangeContactCommand } from '../auth/identity.commands.js';
import { GetProfile } from '../auth/identity.queries.js';
import { PageLimit, UserCursor } from '../paging.js';

const uuid = Uuid;
const FindUserQuery = z.strictObject({
  username: z.string().min(1).max(64).describe('The exact user name (case does not matter)'),
  after: z.string().optional(),
});
/** Contacts and blocks page by the other user's id. */
const ListQuery = z.strictObject({
  after: z.string().optional(),
  cursor: UserCursor,
  limit: PageLimit,
});

/** What a contact or block command answers. */
export interface RelationAnswer {
  readonly status?: string;
  readonly checkpoint: string | null;
}

@Controller()
export class PeopleController {
  constructor(
    private readonly queryBus: QueryBus,
    private readonly commands: CommandBus,
  ) {}

  /** A user by their exact user name (no search: names are not to be listed by prefix). */
  @UseInterceptors(ReadYourWrites)
  @Get('users')
  async find(@ZodQuery(FindUserQuery) { username }: z.output<typeof FindUserQuery>): Promise<{ users: Profile[] }> {
    return this.queryBus.execute(new FindUsers(username));
  }

  @Get('users/:userId')
  profile(@ZodParam('userId', uuid) userId: string, @ZodQuery(NoQuery) _query: object): Promise<Profile> {
    return this.queryBus.execute(new GetProfile(userId));
  }

  @UseInterceptors(ReadYourWrites)
  @Get('contacts')
  async contacts(
    @Caller() caller: AccessClaims,
    @ZodQuery(ListQuery) { limit, cursor }: z.output<typeof ListQuery>,
  ): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
    return this.queryBus.execute(
      new GetContacts(caller.userId, { limit, ...(cursor !== undefined ? { cursor } : {}) }),
    );
  }

  @Post('contacts/:userId')
  @HttpCode(200)
  async request(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.relation('Request', caller, userId, request);
  }

  @Post('contacts/:userId/accept')
  @HttpCode(200)
  async accept(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.relation('Accept', caller, userId, request);
  }

  @Post('contacts/:userId/decline')
  @HttpCode(200)
  async decline(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.relation('Decline', caller, userId, request);
  }

  @Delete('contacts/:userId')
  async remove(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.relation('Remove', caller, userId, request);
  }

  @UseInterceptors(ReadYourWrites)
  @Get('blocks')
  async blocks(
    @Caller() caller: AccessClaims,
    @ZodQuery(ListQuery) { limit, cursor }: z.output<typeof ListQuery>,
  ): Promise<{ blocks: { userId: string }[]; nextCursor: string | null }> {
    return this.queryBus.execute(new GetBlocks(caller.userId, { limit, ...(cursor !== undefined ? { cursor } : {}) }));
  }

  @Put('blocks/:userId')
  async block(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return this.changeBlock(true, caller, userId, request);
  }

  @Delete('blocks/:userId')
  async unblock(
    @Caller() caller: AccessClaims,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return this.changeBlock(false, caller, userId, request);
  }

  private async changeBlock(
    blocked: boolean,
    caller: AccessClaims,
    userId: string,
    request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return {
      checkpoint: await this.commands.execute(
        new ChangeBlockCommand(blocked, caller.userId, userId, requestContext(request)),
      ),
    };
  }

  private relation(
    type: 'Request' | 'Accept' | 'Decline' | 'Remove',
    caller: AccessClaims,
    userId: string,
    request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return this.commands.execute(new ChangeContactCommand(type, caller.userId, userId, requestContext(request)));
  }
}
