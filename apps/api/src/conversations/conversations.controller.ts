/**
 * Conversations and messages over REST. Commands answer with the seq they produced and a
 * `checkpoint`; a query given that checkpoint (`?after=` or the `x-herald-after` header)
 * waits, up to READ_YOUR_WRITES_MS (projections.service.ts), until the read models have caught up with it.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query, Req } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  directConversationId,
  type ConversationCommand,
  type Outcome,
  type ReceiptCommand,
} from '@herald/conversations';
import { boundedDateTime, messageText } from '@herald/events';
import type { AccessClaims } from '@herald/identity';
import { parseInput, RequestInvalid, Uuid } from '@herald/nest';
import {
  GetConversation,
  GetInbox,
  GetMembers,
  GetMessages,
  GetReceipts,
  MEMBERSHIP,
  type ConversationDetails,
  type ConversationSummary,
  type MembersPage,
  type MessagesPage,
  type ReceiptsPage,
} from '@herald/projections';
import type { FastifyRequest } from 'fastify';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ApiInput, ApiQueryInput } from '../openapi.js';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { PageLimit, SeqParam, UserCursor } from '../paging.js';
import { ProjectionsService } from '../projections.service.js';
import { ExecuteConversationCommand, RecordReceiptCommand, SendMessageCommand } from './conversation.commands.js';
import { encodeInboxCursor, InboxCursor } from './inbox-cursor.js';

const uuid = Uuid;
const Mentions = z.strictObject({ userIds: z.array(uuid).max(100).default([]), all: z.boolean().default(false) });
const Attachment = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  name: z.string().min(1).max(255),
  mimeType: z.string().min(1).max(255),
  sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
const DirectBody = z.strictObject({ userId: uuid });
const GroupBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  description: z.string().max(2048).optional(),
  memberIds: z.array(uuid).max(1000).default([]),
});
const GroupChanges = z.strictObject({
  name: z.string().trim().min(1).max(128).optional(),
  description: z.string().max(2048).nullable().optional(),
  announcement: z.string().max(4096).nullable().optional(),
});
const SendBody = z.strictObject({
  clientMessageId: z.string().min(1).max(100),
  text: messageText('The text; may be empty when the message has attachments.').default(''),
  replyToMessageId: uuid.optional(),
  mentions: Mentions.default({ userIds: [], all: false }),
  attachments: z.array(Attachment).max(10).default([]),
});
const EditBody = z.strictObject({
  text: messageText('The new text.'),
  mentions: Mentions.default({ userIds: [], all: false }),
});
const UserBody = z.strictObject({ userId: uuid });
const RoleBody = z.strictObject({ role: z.enum(['admin', 'member']) });
const MuteBody = z.strictObject({ muted: z.boolean(), until: boundedDateTime().nullable().optional() });
const Emoji = z.string().min(1).max(64);
const ReceiptBody = z.strictObject({ upToSeq: z.number().int().min(0) });
const JoinBody = z.strictObject({ token: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not an invitation token') });
const LinkId = z.string().regex(/^[0-9a-f]{64}$/);
const PageQuery = z.strictObject({
  before: SeqParam.optional(),
  after: z.string().optional(),
  since: z.union([z.literal('-1').transform(() => -1), SeqParam]).optional(),
  limit: PageLimit,
});
/** Lists by user id: members, receipts. */
const UserPageQuery = z.strictObject({
  after: z.string().optional(),
  cursor: UserCursor,
  limit: PageLimit,
});
const InboxQuery = z.strictObject({
  after: z.string().optional(),
  cursor: InboxCursor.optional(),
  limit: PageLimit,
});
const AfterQuery = z.strictObject({ after: z.string().optional() });

export interface CommandAnswer {
  readonly conversationId: string;
  readonly seq: number;
  readonly checkpoint: string | null;
}

@Controller('conversations')
export class ConversationsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queryBus: QueryBus,
    private readonly projections: ProjectionsService,
  ) {}

  // ------------------------------------------------------------------ queries

  /** The caller's inbox, most recently active first, a page at a time. */
  @ApiQueryInput(InboxQuery)
  @Get()
  async list(
    @Caller() caller: AccessClaims,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
    const q = parseInput(InboxQuery, query, 'query');
    await this.readModels(q.after, request);
    const { conversations, nextCursor } = await this.queryBus.execute(
      new GetInbox(caller.userId, { limit: q.limit, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) }),
    );
    return { conversations, nextCursor: nextCursor && encodeInboxCursor(nextCursor) };
  }

  @ApiQueryInput(AfterQuery)
  @Get(':id')
  async get(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<ConversationDetails> {
    const conversationId = parseInput(uuid, id, 'path');
    await this.readModels(parseInput(AfterQuery, query, 'query').after, request);
    return this.queryBus.execute(new GetConversation(caller.userId, conversationId));
  }

  /** The current members by user id, a page at a time. */
  @ApiQueryInput(UserPageQuery)
  @Get(':id/members')
  async members(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<MembersPage> {
    const conversationId = parseInput(uuid, id, 'path');
    const q = parseInput(UserPageQuery, query, 'query');
    await this.readModels(q.after, request);
    return this.queryBus.execute(
      new GetMembers(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  }

  /** `?before=<seq>` pages back (newest first); `?since=<seq>` pages forward (oldest first). */
  @ApiQueryInput(PageQuery)
  @Get(':id/messages')
  async messages(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<MessagesPage> {
    const conversationId = parseInput(uuid, id, 'path');
    const q = parseInput(PageQuery, query, 'query');
    if (q.before !== undefined && q.since !== undefined) {
      throw new RequestInvalid('Give before or since, not both', [{ path: 'before', problem: 'with since' }]);
    }
    await this.readModels(q.after, request);
    return this.queryBus.execute(
      new GetMessages(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.before !== undefined ? { before: q.before } : {}),
        ...(q.since !== undefined ? { after: q.since } : {}),
      }),
    );
  }

  // ------------------------------------------------------------------ commands

  @ApiInput(DirectBody)
  @Post('direct')
  async direct(
    @Caller() caller: AccessClaims,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    const { userId } = parseInput(DirectBody, body);
    const conversationId = directConversationId(caller.userId, userId);
    return this.run(
      conversationId,
      { type: 'StartDirectConversation', actorId: caller.userId, conversationId, otherUserId: userId },
      request,
    );
  }

  @ApiInput(GroupBody)
  @Post('groups')
  async group(
    @Caller() caller: AccessClaims,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    const b = parseInput(GroupBody, body);
    const conversationId = randomUUID();
    return this.run(
      conversationId,
      {
        type: 'CreateGroup',
        actorId: caller.userId,
        conversationId,
        name: b.name,
        memberIds: b.memberIds,
        ...(b.description !== undefined ? { description: b.description } : {}),
      },
      request,
    );
  }

  @ApiInput(GroupChanges)
  @Patch(':id')
  @HttpCode(200)
  async change(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const conversationId = parseInput(uuid, id, 'path');
    const b = parseInput(GroupChanges, body);
    if (b.name === undefined && b.description === undefined && b.announcement === undefined) {
      throw new RequestInvalid('Nothing to change', [{ path: '(root)', problem: 'no field given' }]);
    }
    // One command: the new name and details are written in one append, together or not at all.
    return this.run(
      conversationId,
      {
        type: 'ChangeGroup',
        actorId: caller.userId,
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.announcement !== undefined ? { announcement: b.announcement } : {}),
      },
      request,
    );
  }

  @Delete(':id')
  dissolve(@Caller() caller: AccessClaims, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.run(parseInput(uuid, id, 'path'), { type: 'DissolveGroup', actorId: caller.userId }, request);
  }

  @ApiInput(UserBody)
  @Post(':id/invitations')
  invite(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const { userId } = parseInput(UserBody, body);
    return this.run(parseInput(uuid, id, 'path'), { type: 'InviteMember', actorId: caller.userId, userId }, request);
  }

  @Post(':id/invitations/accept')
  @HttpCode(200)
  accept(@Caller() caller: AccessClaims, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.run(parseInput(uuid, id, 'path'), { type: 'AcceptInvitation', actorId: caller.userId }, request);
  }

  /** A new invitation link; its token is in this answer only (Herald keeps its hash, the link id). */
  @Post(':id/links')
  async createLink(@Caller() caller: AccessClaims, @Param('id') id: string, @Req() request: FastifyRequest) {
    const token = randomBytes(32).toString('base64url');
    const linkId = createHash('sha256').update(token).digest('hex');
    const result = await this.run(
      parseInput(uuid, id, 'path'),
      { type: 'CreateInvitationLink', actorId: caller.userId, linkHash: linkId },
      request,
    );
    return { ...result, linkId, token };
  }

  @Delete(':id/links/:linkId')
  revokeLink(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Param('linkId') linkId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(
      parseInput(uuid, id, 'path'),
      { type: 'RevokeInvitationLink', actorId: caller.userId, linkHash: parseInput(LinkId, linkId, 'path') },
      request,
    );
  }

  @ApiInput(JoinBody)
  @Post(':id/join')
  @HttpCode(200)
  join(@Caller() caller: AccessClaims, @Param('id') id: string, @Body() body: unknown, @Req() request: FastifyRequest) {
    const { token } = parseInput(JoinBody, body);
    const linkHash = createHash('sha256').update(token).digest('hex');
    return this.run(parseInput(uuid, id, 'path'), { type: 'JoinViaLink', actorId: caller.userId, linkHash }, request);
  }

  @Post(':id/leave')
  @HttpCode(200)
  leave(@Caller() caller: AccessClaims, @Param('id') id: string, @Req() request: FastifyRequest) {
    return this.run(parseInput(uuid, id, 'path'), { type: 'LeaveGroup', actorId: caller.userId }, request);
  }

  @Delete(':id/members/:userId')
  kick(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Param('userId') userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(
      parseInput(uuid, id, 'path'),
      { type: 'KickMember', actorId: caller.userId, userId: parseInput(uuid, userId, 'path') },
      request,
    );
  }

  @ApiInput(RoleBody)
  @Put(':id/members/:userId/role')
  role(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Param('userId') userId: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const { role } = parseInput(RoleBody, body);
    return this.run(
      parseInput(uuid, id, 'path'),
      { type: 'ChangeRole', actorId: caller.userId, userId: parseInput(uuid, userId, 'path'), role },
      request,
    );
  }

  @ApiInput(UserBody)
  @Post(':id/owner')
  @HttpCode(200)
  transfer(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const { userId } = parseInput(UserBody, body);
    return this.run(
      parseInput(uuid, id, 'path'),
      { type: 'TransferOwnership', actorId: caller.userId, userId },
      request,
    );
  }

  @ApiInput(MuteBody)
  @Put(':id/mute')
  async mute(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const conversationId = parseInput(uuid, id, 'path');
    const b = parseInput(MuteBody, body);
    const { checkpoint } = await this.record(
      conversationId,
      {
        type: 'ChangeMute',
        actorId: caller.userId,
        muted: b.muted,
        ...(b.until !== undefined ? { until: b.until } : {}),
      },
      request,
    );
    return { conversationId, muted: b.muted, until: b.muted ? (b.until ?? null) : null, checkpoint };
  }

  /** Who has received and read how far: current members only, a page at a time. */
  @ApiQueryInput(UserPageQuery)
  @Get(':id/receipts')
  async receipts(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Query() query: unknown,
    @Req() request: FastifyRequest,
  ): Promise<ReceiptsPage> {
    const conversationId = parseInput(uuid, id, 'path');
    const q = parseInput(UserPageQuery, query, 'query');
    await this.readModels(q.after, request);
    return this.queryBus.execute(
      new GetReceipts(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  }

  @ApiInput(ReceiptBody)
  @Post(':id/read')
  @HttpCode(200)
  async read(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    return this.receipt('read', caller, id, body, request);
  }

  @ApiInput(ReceiptBody)
  @Post(':id/delivered')
  @HttpCode(200)
  async delivered(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    return this.receipt('delivered', caller, id, body, request);
  }

  @ApiInput(SendBody)
  @Post(':id/messages')
  async send(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer & { messageId: string }> {
    const conversationId = parseInput(uuid, id, 'path');
    const b = parseInput(SendBody, body);
    const outcome = await this.commands.execute(
      new SendMessageCommand(
        conversationId,
        {
          type: 'SendMessage',
          actorId: caller.userId,
          messageId: randomUUID(),
          clientMessageId: b.clientMessageId,
          text: b.text,
          mentions: b.mentions,
          attachments: b.attachments,
          ...(b.replyToMessageId !== undefined ? { replyToMessageId: b.replyToMessageId } : {}),
        },
        { actorId: caller.userId, ...requestContext(request) },
      ),
    );
    return { ...answer(outcome), messageId: outcome.messageId };
  }

  @ApiInput(EditBody)
  @Patch(':id/messages/:messageId')
  edit(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Param('messageId') messageId: string,
    @Body() body: unknown,
    @Req() request: FastifyRequest,
  ) {
    const b = parseInput(EditBody, body);
    return this.run(
      parseInput(uuid, id, 'path'),
      {
        type: 'EditMessage',
        actorId: caller.userId,
        messageId: parseInput(uuid, messageId, 'path'),
        text: b.text,
        mentions: b.mentions,
      },
      request,
    );
  }

  @Delete(':id/messages/:messageId')
  remove(
    @Caller() caller: AccessClaims,
    @Param('id') id: string,
    @Param('messageId') messageId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(
      parseInput(uuid, id, 'path'),
      { type: 'DeleteMessage', actorId: caller.userId, messageId: parseInput(uuid, messageId, 'path') },
      request,
    );
  }

  @Put(':id/messages/:messageId/reactions/:emoji')
  react(
    @Caller() caller: AccessClaims,
    @Param() params: Record<string, string>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return this.reaction('AddReaction', caller, params, request);
  }

  @Delete(':id/messages/:messageId/reactions/:emoji')
  unreact(
    @Caller() caller: AccessClaims,
    @Param() params: Record<string, string>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return this.reaction('RemoveReaction', caller, params, request);
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Before a query: membership decides who may read, so a stopped or stale membership read
   * model refuses the query (503) rather than let a member who left or was kicked read on;
   * then read-your-writes, when given a checkpoint.
   */
  private async readModels(after: string | undefined, request: FastifyRequest): Promise<void> {
    await this.projections.requireCurrent(MEMBERSHIP);
    await this.projections.readYourWrites(after, request);
  }

  private reaction(
    type: 'AddReaction' | 'RemoveReaction',
    caller: AccessClaims,
    params: Record<string, string>,
    request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return this.run(
      parseInput(uuid, params.id, 'path'),
      {
        type,
        actorId: caller.userId,
        messageId: parseInput(uuid, params.messageId, 'path'),
        emoji: parseInput(Emoji, params.emoji, 'path'),
      },
      request,
    );
  }

  private async receipt(
    kind: 'read' | 'delivered',
    caller: AccessClaims,
    id: string,
    body: unknown,
    request: FastifyRequest,
  ) {
    const conversationId = parseInput(uuid, id, 'path');
    const { upToSeq } = parseInput(ReceiptBody, body);
    const { checkpoint } = await this.record(
      conversationId,
      { type: kind === 'read' ? 'MarkRead' : 'MarkDelivered', actorId: caller.userId, upToSeq },
      request,
    );
    return { conversationId, upToSeq, checkpoint };
  }

  private record(conversationId: string, command: ReceiptCommand, request: FastifyRequest) {
    return this.commands.execute(
      new RecordReceiptCommand(conversationId, command, { actorId: command.actorId, ...requestContext(request) }),
    );
  }

  private async run(
    conversationId: string,
    command: Exclude<ConversationCommand, { type: 'SendMessage' }>,
    request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return answer(
      await this.commands.execute(
        new ExecuteConversationCommand(conversationId, command, {
          actorId: command.actorId,
          ...requestContext(request),
        }),
      ),
    );
  }
}

const answer = (outcome: Outcome): CommandAnswer => ({
  conversationId: outcome.conversationId,
  seq: outcome.seq,
  checkpoint: outcome.checkpoint ?? null,
});

/** The request schemas, for the property test that feeds the deciders what this edge lets through. */
export const CONVERSATION_REQUESTS = {
  DirectBody,
  GroupBody,
  GroupChanges,
  SendBody,
  EditBody,
  UserBody,
  RoleBody,
  MuteBody,
  Emoji,
  ReceiptBody,
  JoinBody,
  LinkId,
} as const;
