/**
 * Other users: profiles, contacts (requests, accepting, declining, removing) and blocks.
 * Commands answer with the `checkpoint` they produced (null when nothing changed); the
 * lists take it as `?after=` (or the `x-herald-after` header), as conversations do, and
 * page by the other user's id (paging.ts).
 */
import { Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IdentityService, type AccessClaims, type Profile } from '@herald/identity';
import { FindUsers, GetBlocks, GetContacts, type Contact } from '@herald/projections';
import { QueryBus } from '@nestjs/cqrs';
import { NoQuery, parseInput, Uuid } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { ChangeBlockCommand, ChangeContactCommand } from '../auth/identity.commands.js';
import { ApiQueryInput } from '../openapi.js';
import { PageLimit, UserCursor } from '../paging.js';
import { ProjectionsService } from '../projections.service.js';

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
    private readonly identity: IdentityService,
    private readonly queryBus: QueryBus,
    private readonly projections: ProjectionsService,
    private readonly commands: CommandBus,
  ) {}

  /** A user by their exact user name (no search: names are not to be listed by prefix). */
  @ApiQueryInput(FindUserQuery)
  @Get('users')
  async find(@Query() query: unknown, @Req() request: FastifyRequest): Promise<{ users: Profile[] }> {
    const { username, after } = parseInput(FindUserQuery, query, 'query');
    await this.projections.readYourWrites(after, request);
    return this.queryBus.execute(new FindUsers(username));
  }

  @Get('users/:userId')
  profile(@Param('userId') userId: string, @Query() query: unknown): Promise<Profile> {
    parseInput(NoQuery, query, 'query');
    return this.identity.profile(parseInput(uuid, userId, 'path'));
  }

  @ApiQueryInput(ListQuery)
  @Get('contacts')
  async contacts(
    @Caller() caller: AccessClaims,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
    const { limit, after, cursor } = parseInput(ListQuery, query, 'query');
    await this.projections.readYourWrites(after, request);
    return this.queryBus.execute(
      new GetContacts(caller.userId, { limit, ...(cursor !== undefined ? { cursor } : {}) }),
    );
  }

  @Post('contacts/:userId')
  @HttpCode(200)
  async request(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return this.relation('Request', caller, userId, request);
  }

  @Post('contacts/:userId/accept')
  @HttpCode(200)
  async accept(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return this.relation('Accept', caller, userId, request);
  }

  @Post('contacts/:userId/decline')
  @HttpCode(200)
  async decline(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return this.relation('Decline', caller, userId, request);
  }

  @Delete('contacts/:userId')
  async remove(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return this.relation('Remove', caller, userId, request);
  }

  @ApiQueryInput(ListQuery)
  @Get('blocks')
  async blocks(
    @Caller() caller: AccessClaims,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<{ blocks: { userId: string }[]; nextCursor: string | null }> {
    const { limit, after, cursor } = parseInput(ListQuery, query, 'query');
    await this.projections.readYourWrites(after, request);
    return this.queryBus.execute(new GetBlocks(caller.userId, { limit, ...(cursor !== undefined ? { cursor } : {}) }));
  }

  @Put('blocks/:userId')
  async block(
    @Caller() caller: AccessClaims,
    @Param('userId') userId: string,
    @Req() request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return this.changeBlock(true, caller, userId, request);
  }

  @Delete('blocks/:userId')
  async unblock(
    @Caller() caller: AccessClaims,
    @Param('userId') userId: string,
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
    const otherId = parseInput(uuid, userId, 'path');
    return {
      checkpoint: await this.commands.execute(
        new ChangeBlockCommand(blocked, caller.userId, otherId, requestContext(request)),
      ),
    };
  }

  private relation(
    type: 'Request' | 'Accept' | 'Decline' | 'Remove',
    caller: AccessClaims,
    userId: string,
    request: FastifyRequest,
  ): Promise<RelationAnswer> {
    return this.commands.execute(
      new ChangeContactCommand(type, caller.userId, parseInput(uuid, userId, 'path'), requestContext(request)),
    );
  }
}
