/**
 * Conversations and messages over REST. Commands answer with the seq they produced and a
 * `checkpoint`; a query given that checkpoint (`?after=` or the `x-herald-after` header)
 * waits, up to READ_YOUR_WRITES_MS (libs/nest read-your-writes.ts), until the read models have caught up with it;
 * before that, a stopped or stale membership read model refuses it (MembershipCurrent).
 */
import { Controller, Delete, Get, HttpCode, Patch, Post, Put, Req, UseGuards, UseInterceptors } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import {
  directConversationId,
  MAX_SILENCE_SECONDS,
  type ConversationCommand,
  type Outcome,
  type ReceiptCommand,
} from '@herald/conversations';
import { boundedDateTime, messageText } from '@herald/events';
import type { AccessClaims } from '@herald/identity';
import { ReadYourWrites, RequestInvalid, Uuid, ZodBody, ZodParam, ZodQuery } from '@herald/nest';
import {
  GetBans,
  GetConversation,
  GetInbox,
  GetMembers,
  GetMessages,
  GetPins,
  GetReceipts,
  type BansPage,
  GetReplies,
  type ConversationView,
  type ConversationSummary,
  type MembersPage,
  type MessagesPage,
  type PinsPage,
  type ReceiptsPage,
  type RepliesPage,
} from '@herald/projections';
import type { FastifyRequest } from 'fastify';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { requestContext } from '../auth/auth.controller.js';
import { Caller } from '../auth/auth.guard.js';
import { PageLimit, SeqParam, UserCursor } from '../paging.js';
import { ExecuteConversationCommand, RecordReceiptCommand, SendMessageCommand } from './conversation.commands.js';
import { encodeInboxCursor, InboxCursor } from './inbox-cursor.js';
import { MembershipCurrent } from './membership-current.guard.js';

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
  announcementOnly: z.boolean().optional().describe('Only the owner and admins send (true), or every member (false)'),
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
const SilenceBody = z.strictObject({
  durationSeconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_SILENCE_SECONDS)
    .describe(`How long the member is silenced from now: 1 to ${MAX_SILENCE_SECONDS} seconds (366 days)`),
});
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
/** Pins, the most recently pinned first: `cursor` is the `pinnedSeq` of the page's last pin before. */
const PinsQuery = z.strictObject({
  after: z.string().optional(),
  cursor: SeqParam.optional().describe('nextCursor of the page before'),
  limit: PageLimit,
});

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
  ) {}

  // ------------------------------------------------------------------ queries

  /** The caller's inbox, most recently active first, a page at a time. */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get()
  async list(
    @Caller() caller: AccessClaims,
    @ZodQuery(InboxQuery) q: z.output<typeof InboxQuery>,
  ): Promise<{ conversations: ConversationSummary[]; nextCursor: string | null }> {
    const { conversations, nextCursor } = await this.queryBus.execute(
      new GetInbox(caller.userId, { limit: q.limit, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) }),
    );
    return { conversations, nextCursor: nextCursor && encodeInboxCursor(nextCursor) };
  }

  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id')
  async get(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(AfterQuery) _query: z.output<typeof AfterQuery>,
  ): Promise<ConversationView> {
    return this.queryBus.execute(new GetConversation(caller.userId, conversationId));
  }

  /** The current members by user id, a page at a time. */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/members')
  async members(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(UserPageQuery) q: z.output<typeof UserPageQuery>,
  ): Promise<MembersPage> {
    return this.queryBus.execute(
      new GetMembers(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  }

  /** `?before=<seq>` pages back (newest first); `?since=<seq>` pages forward (oldest first). */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/messages')
  async messages(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(PageQuery) q: z.output<typeof PageQuery>,
  ): Promise<MessagesPage> {
    return this.queryBus.execute(new GetMessages(caller.userId, conversationId, pageOf(q)));
  }

  /**
   * A thread: the replies to a message, paged by seq as the messages are, with the message
   * itself, its participants and the caller's unread count in it (README: Threads).
   */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/messages/:messageId/replies')
  async replies(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodParam('messageId', uuid) messageId: string,
    @ZodQuery(PageQuery) q: z.output<typeof PageQuery>,
  ): Promise<RepliesPage> {
    return this.queryBus.execute(new GetReplies(caller.userId, conversationId, messageId, pageOf(q)));
  }

  // ------------------------------------------------------------------ commands

  @Post('direct')
  async direct(
    @Caller() caller: AccessClaims,
    @ZodBody(DirectBody) { userId }: z.output<typeof DirectBody>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    const conversationId = directConversationId(caller.userId, userId);
    return this.run(
      conversationId,
      { type: 'StartDirectConversation', actorId: caller.userId, conversationId, otherUserId: userId },
      request,
    );
  }

  @Post('groups')
  async group(
    @Caller() caller: AccessClaims,
    @ZodBody(GroupBody) b: z.output<typeof GroupBody>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
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

  @Patch(':id')
  @HttpCode(200)
  async change(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodBody(GroupChanges) b: z.output<typeof GroupChanges>,
    @Req() request: FastifyRequest,
  ) {
    if (
      b.name === undefined &&
      b.description === undefined &&
      b.announcement === undefined &&
      b.announcementOnly === undefined
    ) {
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
        ...(b.announcementOnly !== undefined ? { announcementOnly: b.announcementOnly } : {}),
      },
      request,
    );
  }

  @Delete(':id')
  dissolve(@Caller() caller: AccessClaims, @ZodParam('id', uuid) id: string, @Req() request: FastifyRequest) {
    return this.run(id, { type: 'DissolveGroup', actorId: caller.userId }, request);
  }

  @Post(':id/invitations')
  invite(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodBody(UserBody) { userId }: z.output<typeof UserBody>,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'InviteMember', actorId: caller.userId, userId }, request);
  }

  /** Withdraws a pending invitation (admins): the user can no longer accept it. */
  @Delete(':id/invitations/:userId')
  withdraw(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'WithdrawInvitation', actorId: caller.userId, userId }, request);
  }

  @Post(':id/invitations/accept')
  @HttpCode(200)
  accept(@Caller() caller: AccessClaims, @ZodParam('id', uuid) id: string, @Req() request: FastifyRequest) {
    return this.run(id, { type: 'AcceptInvitation', actorId: caller.userId }, request);
  }

  /** A new invitation link; its token is in this answer only (Herald keeps its hash, the link id). */
  @Post(':id/links')
  async createLink(@Caller() caller: AccessClaims, @ZodParam('id', uuid) id: string, @Req() request: FastifyRequest) {
    const token = randomBytes(32).toString('base64url');
    const linkId = createHash('sha256').update(token).digest('hex');
    const result = await this.run(
      id,
      { type: 'CreateInvitationLink', actorId: caller.userId, linkHash: linkId },
      request,
    );
    return { ...result, linkId, token };
  }

  @Delete(':id/links/:linkId')
  revokeLink(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('linkId', LinkId) linkId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'RevokeInvitationLink', actorId: caller.userId, linkHash: linkId }, request);
  }

  @Post(':id/join')
  @HttpCode(200)
  join(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodBody(JoinBody) { token }: z.output<typeof JoinBody>,
    @Req() request: FastifyRequest,
  ) {
    const linkHash = createHash('sha256').update(token).digest('hex');
    return this.run(id, { type: 'JoinViaLink', actorId: caller.userId, linkHash }, request);
  }

  @Post(':id/leave')
  @HttpCode(200)
  leave(@Caller() caller: AccessClaims, @ZodParam('id', uuid) id: string, @Req() request: FastifyRequest) {
    return this.run(id, { type: 'LeaveGroup', actorId: caller.userId }, request);
  }

  @Delete(':id/members/:userId')
  kick(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'KickMember', actorId: caller.userId, userId }, request);
  }

  @Put(':id/members/:userId/role')
  role(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @ZodBody(RoleBody) { role }: z.output<typeof RoleBody>,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'ChangeRole', actorId: caller.userId, userId, role }, request);
  }

  @Post(':id/owner')
  @HttpCode(200)
  transfer(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodBody(UserBody) { userId }: z.output<typeof UserBody>,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'TransferOwnership', actorId: caller.userId, userId }, request);
  }

  @Put(':id/mute')
  async mute(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodBody(MuteBody) b: z.output<typeof MuteBody>,
    @Req() request: FastifyRequest,
  ) {
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
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/receipts')
  async receipts(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(UserPageQuery) q: z.output<typeof UserPageQuery>,
  ): Promise<ReceiptsPage> {
    return this.queryBus.execute(
      new GetReceipts(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  }

  @Post(':id/read')
  @HttpCode(200)
  async read(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodBody(ReceiptBody) { upToSeq }: z.output<typeof ReceiptBody>,
    @Req() request: FastifyRequest,
  ) {
    return this.receipt('read', caller, id, upToSeq, request);
  }

  @Post(':id/delivered')
  @HttpCode(200)
  async delivered(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodBody(ReceiptBody) { upToSeq }: z.output<typeof ReceiptBody>,
    @Req() request: FastifyRequest,
  ) {
    return this.receipt('delivered', caller, id, upToSeq, request);
  }

  @Post(':id/messages')
  async send(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodBody(SendBody) b: z.output<typeof SendBody>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer & { messageId: string }> {
    const context = { actorId: caller.userId, ...requestContext(request) };
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
          now: context.now,
        },
        context,
      ),
    );
    return { ...answer(outcome), messageId: outcome.messageId };
  }

  @Patch(':id/messages/:messageId')
  async edit(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @ZodBody(EditBody) b: z.output<typeof EditBody>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    const outcome = await this.runTimed(id, request, (now) => ({
      type: 'EditMessage',
      actorId: caller.userId,
      messageId,
      text: b.text,
      mentions: b.mentions,
      now,
    }));
    return answer(outcome);
  }

  @Delete(':id/messages/:messageId')
  remove(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'DeleteMessage', actorId: caller.userId, messageId }, request);
  }

  @Put(':id/messages/:messageId/reactions/:emoji')
  react(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @ZodParam('emoji', Emoji) emoji: string,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return this.run(id, { type: 'AddReaction', actorId: caller.userId, messageId, emoji }, request);
  }

  @Delete(':id/messages/:messageId/reactions/:emoji')
  unreact(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @ZodParam('emoji', Emoji) emoji: string,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer> {
    return this.run(id, { type: 'RemoveReaction', actorId: caller.userId, messageId, emoji }, request);
  }

  // ------------------------------------------------------------------ moderation

  /** Silences a member for `durationSeconds` from now (a new silence replaces the one before). */
  @Put(':id/members/:userId/silence')
  async silence(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @ZodBody(SilenceBody) { durationSeconds }: z.output<typeof SilenceBody>,
    @Req() request: FastifyRequest,
  ): Promise<CommandAnswer & { userId: string; silencedUntil: string }> {
    const outcome = await this.runTimed(id, request, (now) => ({
      type: 'SilenceMember',
      actorId: caller.userId,
      userId,
      durationSeconds,
      now,
    }));
    const silenced = outcome.events.find((e) => e.type === 'MemberSilenced');
    return { ...answer(outcome), userId, silencedUntil: silenced!.data.until };
  }

  @Delete(':id/members/:userId/silence')
  unsilence(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'UnsilenceMember', actorId: caller.userId, userId }, request);
  }

  /** Who is banned from the group, by user id: its owner and admins only. */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/bans')
  async bans(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(UserPageQuery) q: z.output<typeof UserPageQuery>,
  ): Promise<BansPage> {
    return this.queryBus.execute(
      new GetBans(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      }),
    );
  }

  /** Bans a user (a member is removed too); they may not join again until unbanned. */
  @Put(':id/bans/:userId')
  ban(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'BanMember', actorId: caller.userId, userId }, request);
  }

  @Delete(':id/bans/:userId')
  unban(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('userId', uuid) userId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'UnbanMember', actorId: caller.userId, userId }, request);
  }

  /** The pinned messages, the most recently pinned first; a member who left sees them as at their leaving. */
  @UseGuards(MembershipCurrent)
  @UseInterceptors(ReadYourWrites)
  @Get(':id/pins')
  async pins(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) conversationId: string,
    @ZodQuery(PinsQuery) q: z.output<typeof PinsQuery>,
  ): Promise<PinsPage> {
    return this.queryBus.execute(
      new GetPins(caller.userId, conversationId, {
        limit: q.limit,
        ...(q.cursor !== undefined ? { before: q.cursor } : {}),
      }),
    );
  }

  @Put(':id/pins/:messageId')
  pin(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'PinMessage', actorId: caller.userId, messageId }, request);
  }

  @Delete(':id/pins/:messageId')
  unpin(
    @Caller() caller: AccessClaims,
    @ZodParam('id', uuid) id: string,
    @ZodParam('messageId', uuid) messageId: string,
    @Req() request: FastifyRequest,
  ) {
    return this.run(id, { type: 'UnpinMessage', actorId: caller.userId, messageId }, request);
  }

  // ------------------------------------------------------------------ helpers

  private async receipt(
    kind: 'read' | 'delivered',
    caller: AccessClaims,
    conversationId: string,
    upToSeq: number,
    request: FastifyRequest,
  ) {
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

  /** A command decided at the request's time: `now` is also its events' `occurredAt`. */
  private runTimed(
    conversationId: string,
    request: FastifyRequest,
    command: (now: Date) => Exclude<TimedCommand, { type: 'SendMessage' }>,
  ): Promise<Outcome> {
    const context = requestContext(request);
    const decided = command(context.now);
    return this.commands.execute(
      new ExecuteConversationCommand(conversationId, decided, { actorId: decided.actorId, ...context }),
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

type TimedCommand = Extract<ConversationCommand, { now: Date }>;

/** A page by seq: `before` (older, newest first) or `since` (newer, oldest first), not both. */
function pageOf(q: z.output<typeof PageQuery>): { before?: number; after?: number; limit: number } {
  if (q.before !== undefined && q.since !== undefined) {
    throw new RequestInvalid('Give before or since, not both', [{ path: 'before', problem: 'with since' }]);
  }
  return {
    limit: q.limit,
    ...(q.before !== undefined ? { before: q.before } : {}),
    ...(q.since !== undefined ? { after: q.since } : {}),
  };
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
  SilenceBody,
  MuteBody,
  Emoji,
  ReceiptBody,
  JoinBody,
  LinkId,
} as const;
