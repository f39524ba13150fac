/** Other users: profiles, contacts (requests, accepting, declining, removing) and blocks. */
import { Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req } from '@nestjs/common';
import { IdentityService, type AccessClaims, type Profile } from '@herald/identity';
import { parseInput } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';

const uuid = z.uuid();
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(100) });

@Controller()
export class PeopleController {
  constructor(
    private readonly identity: IdentityService,
    private readonly db: DataSource,
  ) {}

  @Get('users/:userId')
  profile(@Param('userId') userId: string): Promise<Profile> {
    return this.identity.profile(parseInput(uuid, userId, 'path'));
  }

  @Get('contacts')
  contacts(@Caller() caller: AccessClaims, @Query() query: unknown): Promise<{ userId: string; status: string }[]> {
    const { limit } = parseInput(ListQuery, query, 'query');
    return this.db.query(
      'SELECT contact_id AS "userId", status FROM rm_contacts WHERE user_id = $1 ORDER BY status, contact_id LIMIT $2',
      [caller.userId, limit],
    );
  }

  @Post('contacts/:userId')
  @HttpCode(200)
  async request(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return { status: await this.relation('Request', caller, userId, request) };
  }

  @Post('contacts/:userId/accept')
  @HttpCode(200)
  async accept(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return { status: await this.relation('Accept', caller, userId, request) };
  }

  @Post('contacts/:userId/decline')
  @HttpCode(200)
  async decline(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return { status: await this.relation('Decline', caller, userId, request) };
  }

  @Delete('contacts/:userId')
  async remove(@Caller() caller: AccessClaims, @Param('userId') userId: string, @Req() request: FastifyRequest) {
    return { status: await this.relation('Remove', caller, userId, request) };
  }

  @Get('blocks')
  blocks(@Caller() caller: AccessClaims): Promise<{ userId: string }[]> {
    return this.db.query('SELECT blocked_user_id AS "userId" FROM rm_blocks WHERE user_id = $1 ORDER BY 1 LIMIT 1000', [
      caller.userId,
    ]);
  }

  @Put('blocks/:userId')
  @HttpCode(204)
  async block(
    @Caller() caller: AccessClaims,
    @Param('userId') userId: string,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.identity.block(caller.userId, parseInput(uuid, userId, 'path'), requestContext(request));
  }

  @Delete('blocks/:userId')
  @HttpCode(204)
  async unblock(
    @Caller() caller: AccessClaims,
    @Param('userId') userId: string,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    await this.identity.unblock(caller.userId, parseInput(uuid, userId, 'path'), requestContext(request));
  }

  private relation(
    type: 'Request' | 'Accept' | 'Decline' | 'Remove',
    caller: AccessClaims,
    userId: string,
    request: FastifyRequest,
  ): Promise<string> {
    return this.identity.contact(type, caller.userId, parseInput(uuid, userId, 'path'), requestContext(request));
  }
}
