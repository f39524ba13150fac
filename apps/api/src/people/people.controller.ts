/**
 * Other users: profiles, contacts (requests, accepting, declining, removing) and blocks.
 * Commands answer with the `checkpoint` they produced (null when nothing changed); the
 * lists take it as `?after=` (or the `x-herald-after` header), as conversations do, and
 * page by the other user's id (paging.ts).
 */
import { Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { IdentityService, type AccessClaims, type Profile } from '@herald/identity';
import { NoQuery, parseInput, Uuid } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { ChangeBlockCommand, ChangeContactCommand } from '../auth/identity.commands.js';
import { ApiQueryInput } from '../openapi.js';
import { FIRST_USER, PageLimit, toPage, UserCursor } from '../paging.js';
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
    private readonly db: DataSource,
    private readonly projections: ProjectionsService,
    private readonly commands: CommandBus,
  ) {}

  /** A user by their exact user name (no search: names are not to be listed by prefix). */
  @ApiQueryInput(FindUserQuery)
  @Get('users')
  async find(@Query() query: unknown, @Req() request: FastifyRequest): Promise<{ users: Profile[] }> {
    const { username, after } = parseInput(FindUserQuery, query, 'query');
    await this.projections.readYourWrites(after, request);
    const users = await this.db.query<Profile[]>(
      `SELECT user_id AS "userId", username, display_name AS "displayName", avatar_url AS "avatarUrl",
              status_text AS "statusText"
         FROM rm_users WHERE username = $1`,
      [username.toLowerCase()],
    );
    return { users };
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
  ): Promise<{ contacts: { userId: string; status: string }[]; nextCursor: string | null }> {
    const { limit, after, cursor } = parseInput(ListQuery, query, 'query');
    await this.projections.readYourWrites(after, request);
    const rows = await this.db.query<{ userId: string; status: string }[]>(
      `SELECT contact_id AS "userId", status FROM rm_contacts
        WHERE user_id = $1 AND contact_id > $2 ORDER BY contact_id LIMIT $3`,
      [caller.userId, cursor ?? FIRST_USER, limit + 1],
    );
    const { rows: contacts, nextCursor } = toPage(rows, limit, (last) => last.userId);
    return { contacts, nextCursor };
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
    const rows = await this.db.query<{ userId: string }[]>(
      `SELECT blocked_user_id AS "userId" FROM rm_blocks
        WHERE user_id = $1 AND blocked_user_id > $2 ORDER BY blocked_user_id LIMIT $3`,
      [caller.userId, cursor ?? FIRST_USER, limit + 1],
    );
    const { rows: blocks, nextCursor } = toPage(rows, limit, (last) => last.userId);
    return { blocks, nextCursor };
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
