/**
 * The conversation decider: given a conversation's state, a command and the facts the
 * caller looked up, the decision (the events that happen, whether they are withheld, the
 * send a retry repeats), or a ConversationError. Pure: the actor, the time and new ids
 * come in with the command, what takes I/O to know with the facts. Conversation and
 * messaging share the stream, so one decider covers both.
 */
import { MAX_MESSAGE_BYTES, utf8Length } from '@herald/events';
import {
  RECENT_MESSAGES,
  sentKey,
  type Conversation,
  type ConversationEvent,
  type Role,
  type SentMessage,
} from './conversation.js';
import { banned, ConversationError, notFound } from './errors.js';

export const MAX_GROUP_MEMBERS = 100_000;
export const MAX_INITIAL_MEMBERS = 1_000;
/** The longest silence an admin gives at once (366 days); silencing again sets a new end. */
export const MAX_SILENCE_SECONDS = 366 * 24 * 60 * 60;
/** Messages pinned in one conversation at a time. */
export const MAX_PINS = 100;

interface Mentions {
  readonly userIds: readonly string[];
  readonly all: boolean;
}

interface Attachment {
  readonly url: string;
  readonly name: string;
  readonly mimeType: string;
  readonly sizeBytes: number;
}

export type ConversationCommand = { readonly actorId: string } & (
  | { readonly type: 'StartDirectConversation'; readonly conversationId: string; readonly otherUserId: string }
  | {
      readonly type: 'CreateGroup';
      readonly conversationId: string;
      readonly name: string;
      readonly description?: string;
      readonly memberIds: readonly string[];
    }
  | {
      readonly type: 'ChangeGroup';
      readonly name?: string;
      readonly description?: string | null;
      readonly announcement?: string | null;
      readonly announcementOnly?: boolean;
    }
  | { readonly type: 'InviteMember'; readonly userId: string }
  | { readonly type: 'WithdrawInvitation'; readonly userId: string }
  | { readonly type: 'AcceptInvitation' }
  | { readonly type: 'JoinViaLink'; readonly linkHash: string }
  | { readonly type: 'CreateInvitationLink'; readonly linkHash: string }
  | { readonly type: 'RevokeInvitationLink'; readonly linkHash: string }
  | { readonly type: 'LeaveGroup' }
  | { readonly type: 'KickMember'; readonly userId: string }
  | { readonly type: 'ChangeRole'; readonly userId: string; readonly role: 'admin' | 'member' }
  | { readonly type: 'TransferOwnership'; readonly userId: string }
  | { readonly type: 'DissolveGroup' }
  | {
      readonly type: 'SilenceMember';
      readonly userId: string;
      readonly durationSeconds: number;
      /** The time the silence starts from (the request's): its end is this plus the duration. */
      readonly now: Date;
    }
  | { readonly type: 'UnsilenceMember'; readonly userId: string }
  | { readonly type: 'BanMember'; readonly userId: string }
  | { readonly type: 'UnbanMember'; readonly userId: string }
  | { readonly type: 'PinMessage'; readonly messageId: string }
  | { readonly type: 'UnpinMessage'; readonly messageId: string }
  | {
      readonly type: 'SendMessage';
      readonly messageId: string;
      readonly clientMessageId: string;
      readonly text: string;
      readonly replyToMessageId?: string;
      readonly mentions: Mentions;
      readonly attachments: readonly Attachment[];
      /** The time it is sent: a silence that has not ended by then refuses it. */
      readonly now: Date;
    }
  | {
      readonly type: 'EditMessage';
      readonly messageId: string;
      readonly text: string;
      readonly mentions: Mentions;
      /** As for a send: a silence that has not ended by then refuses it. */
      readonly now: Date;
    }
  | { readonly type: 'DeleteMessage'; readonly messageId: string }
  | { readonly type: 'AddReaction'; readonly messageId: string; readonly emoji: string }
  | { readonly type: 'RemoveReaction'; readonly messageId: string; readonly emoji: string }
);

const isAdmin = (role: Role | undefined): boolean => role === 'owner' || role === 'admin';

/** What a command is decided with that takes I/O to know: the caller looks it up before deciding. */
/**
 * What a group's moderation lets a member write at `now`: nothing while silenced, and
 * nothing but as owner or admin in an announcement-only group. The refusal, or undefined
 * when they may write. Sends and edits are decided with it, and push relays a member's
 * typing only when it lets them write (typing what one may not send is noise to the rest).
 */
export function moderationRefusal(state: Conversation, userId: string, now: Date): ConversationError | undefined {
  if (state.kind !== 'group') return undefined;
  const until = state.silenced.get(userId);
  if (until !== undefined && Date.parse(until) > now.getTime()) {
    return new ConversationError('CONVERSATION.SILENCED', `You are silenced in this group until ${until}`);
  }
  if (state.announcementOnly && !isAdmin(state.members.get(userId)?.role)) {
    return new ConversationError(
      'CONVERSATION.ANNOUNCEMENT_ONLY',
      'Only the owner and admins send messages in this announcement-only group',
    );
  }
  return undefined;
}

export interface Facts {
  /** Users who have blocked the actor (the caller loads the direct conversation's other member). */
  readonly blockedBy: ReadonlySet<string>;
  /** Users the command names (`namedUsers`) who never registered. */
  readonly unknownUsers: ReadonlySet<string>;
}

export const NO_FACTS: Facts = { blockedBy: new Set(), unknownUsers: new Set() };

/** The users a command names, other than its actor: each must exist. */
export function namedUsers(command: ConversationCommand): string[] {
  const listed =
    command.type === 'StartDirectConversation'
      ? [command.otherUserId]
      : command.type === 'CreateGroup'
        ? command.memberIds
        : command.type === 'InviteMember' || command.type === 'BanMember'
          ? [command.userId]
          : [];
  return [...new Set(listed)].filter((id) => id !== command.actorId);
}

/** What a command decides, and whether it is withheld: decided, answered, never written. */
export interface Decision {
  readonly events: ConversationEvent[];
  readonly withheld: boolean;
  /** The send a retried send repeats: it is answered with that one's message and seq. */
  readonly repeats?: SentMessage;
}

/** The earlier send with this one's client message id, if this is a retry. */
const earlierSend = (
  command: Extract<ConversationCommand, { type: 'SendMessage' }>,
  state: Conversation,
): SentMessage | undefined => state.sent.get(sentKey(command.actorId, command.clientMessageId));

/**
 * Decides a command with the facts the caller looked up. A command naming a user who never
 * registered is refused, after the decider's own checks (who may not do this learns
 * nothing of users). A user the other member of a direct conversation blocked gets every
 * command decided exactly as anyone's (the same checks, the same errors: nothing tells them
 * of the block), and its events are withheld: the caller answers as if they were written
 * and writes nothing, so the one who blocked sees nothing, no count of theirs moves and
 * nothing is pushed to them (docs/adr/007-blocks-reveal-nothing.md). Groups are not
 * affected by blocks.
 */
export function decide(command: ConversationCommand, state: Conversation, facts: Facts = NO_FACTS): Decision {
  // A retry of a send that happened is answered with it, whatever changed since (even for
  // one who left meanwhile): the client may have missed the first answer.
  const repeats = command.type === 'SendMessage' ? earlierSend(command, state) : undefined;
  if (repeats) return { events: [], withheld: false, repeats };
  const events = decideRules(command, state);
  const unknown = events.length > 0 ? namedUsers(command).filter((id) => facts.unknownUsers.has(id)) : [];
  if (unknown.length > 0) {
    throw new ConversationError('USER.NOT_FOUND', `No such user: ${unknown.slice(0, 10).join(', ')}`);
  }
  const other =
    command.type === 'StartDirectConversation'
      ? command.otherUserId
      : state.kind === 'direct'
        ? [...state.members.keys()].find((id) => id !== command.actorId)
        : undefined;
  const withheld = events.length > 0 && other !== undefined && facts.blockedBy.has(other);
  return { events, withheld };
}

/** The events a command decides by the conversation's rules; `decide` adds retries and facts. */
function decideRules(command: ConversationCommand, state: Conversation): ConversationEvent[] {
  const conversationId = state.id;
  const actor = command.actorId;

  // Creation commands: the conversation must not exist yet (direct ones: creating twice is fine).
  if (command.type === 'StartDirectConversation') {
    if (command.otherUserId === actor)
      throw new ConversationError('CONVERSATION.INVALID', 'A direct conversation needs two different users');
    if (state.kind !== null) return [];
    const memberIds = [actor, command.otherUserId].sort() as [string, string];
    return [{ type: 'DirectConversationStarted', data: { conversationId, memberIds } }];
  }
  if (command.type === 'CreateGroup') {
    if (state.kind !== null)
      throw new ConversationError('CONVERSATION.ALREADY_EXISTS', 'This conversation exists already');
    const memberIds = [...new Set(command.memberIds)].filter((id) => id !== actor);
    if (memberIds.length > MAX_INITIAL_MEMBERS) {
      throw new ConversationError(
        'CONVERSATION.INVALID',
        `At most ${MAX_INITIAL_MEMBERS} members at creation; invite the rest`,
      );
    }
    return [
      {
        type: 'GroupCreated',
        data: {
          conversationId,
          ownerId: actor,
          name: command.name,
          ...(command.description !== undefined ? { description: command.description } : {}),
          memberIds,
        },
      },
    ];
  }

  if (state.kind === null) throw notFound();
  const me = state.members.get(actor);

  // Joining is the one thing a non-member may do, and only with an invitation or a link.
  if (command.type === 'AcceptInvitation' || command.type === 'JoinViaLink') {
    if (state.kind !== 'group') throw notFound();
    if (me) throw new ConversationError('CONVERSATION.ALREADY_MEMBER', 'You are a member already');
    // A banned user knows the group: they are told why, link or invitation alike.
    if (state.banned.has(actor)) throw banned('You are banned from this group');
    // Without the invitation or the link, the group's fate is none of the caller's business.
    if (command.type === 'AcceptInvitation' && !state.invited.has(actor)) throw notFound();
    if (command.type === 'JoinViaLink' && !state.links.has(command.linkHash)) throw notFound();
    if (state.dissolved) throw new ConversationError('CONVERSATION.DISSOLVED', 'This group was dissolved');
    if (state.members.size >= MAX_GROUP_MEMBERS) {
      throw new ConversationError('CONVERSATION.INVALID', `A group has at most ${MAX_GROUP_MEMBERS} members`);
    }
    return [
      {
        type: 'MemberJoined',
        data: { conversationId, userId: actor, via: command.type === 'AcceptInvitation' ? 'invitation' : 'link' },
      },
    ];
  }

  // Everything else: members only, and nothing writes to a dissolved group but its members
  // leaving it (the owner too), which takes it out of their inbox.
  if (!me) throw notFound();
  if (state.dissolved && command.type === 'LeaveGroup') {
    return [{ type: 'MemberLeft', data: { conversationId, userId: actor } }];
  }
  if (state.dissolved) throw new ConversationError('CONVERSATION.DISSOLVED', 'This group was dissolved');
  const requireGroup = (): void => {
    if (state.kind !== 'group') throw new ConversationError('CONVERSATION.INVALID', 'Only groups have this');
  };
  const requireAdmin = (): void => {
    requireGroup();
    if (!isAdmin(me.role)) throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only admins may do this');
  };
  const message = (messageId: string): { authorId: string; deleted: boolean; reactions: ReadonlySet<string> } => {
    const found = state.messages.get(messageId);
    if (!found) {
      throw new ConversationError(
        'MESSAGE.NOT_FOUND',
        `No such message among the ${RECENT_MESSAGES} newest of this conversation`,
      );
    }
    return found;
  };
  const checkMentions = (mentions: Mentions): void => {
    if (mentions.all && !(state.kind === 'group' && isAdmin(me.role))) {
      throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only admins may mention @all');
    }
    const strangers = mentions.userIds.filter((id) => !state.members.has(id));
    if (strangers.length > 0) throw new ConversationError('CONVERSATION.INVALID', 'Mentions must name members');
  };
  const checkMayWrite = (now: Date): void => {
    const refusal = moderationRefusal(state, actor, now);
    if (refusal) throw refusal;
  };
  /**
   * Whom an admin may moderate (silence, ban): another user, and, if a member, one of lower
   * rank: admins moderate members, the owner moderates admins too, nobody the owner. The
   * same rule as a kick's.
   */
  const checkOutranks = (userId: string, doing: string): void => {
    if (userId === actor) throw new ConversationError('CONVERSATION.INVALID', `Nobody ${doing} themselves`);
    const target = state.members.get(userId);
    if (target && (target.role === 'owner' || (target.role === 'admin' && me.role !== 'owner'))) {
      throw new ConversationError('CONVERSATION.FORBIDDEN', `Only the owner ${doing} an admin, and nobody the owner`);
    }
  };
  /** Pins: the admins' in a group, either member's in a direct conversation. */
  const requirePinner = (): void => {
    if (state.kind === 'group') requireAdmin();
  };
  const checkText = (text: string): void => {
    if (utf8Length(text) > MAX_MESSAGE_BYTES) {
      throw new ConversationError('CONVERSATION.INVALID', `A message has at most ${MAX_MESSAGE_BYTES} bytes as UTF-8`);
    }
  };

  switch (command.type) {
    case 'ChangeGroup': {
      // One decision, one append: a rename and new details land together or not at all.
      requireAdmin();
      const { name, description, announcement, announcementOnly } = command;
      const renamed: ConversationEvent[] =
        name !== undefined && name !== state.name ? [{ type: 'GroupRenamed', data: { conversationId, name } }] : [];
      const detailed: ConversationEvent[] =
        description !== undefined || announcement !== undefined
          ? [
              {
                type: 'GroupDetailsChanged',
                data: {
                  conversationId,
                  ...(description !== undefined ? { description } : {}),
                  ...(announcement !== undefined ? { announcement } : {}),
                },
              },
            ]
          : [];
      const restricted: ConversationEvent[] =
        announcementOnly !== undefined && announcementOnly !== state.announcementOnly
          ? [{ type: 'GroupAnnouncementOnlyChanged', data: { conversationId, announcementOnly, changedBy: actor } }]
          : [];
      return [...renamed, ...detailed, ...restricted];
    }
    case 'InviteMember':
      requireAdmin();
      if (state.members.has(command.userId))
        throw new ConversationError('CONVERSATION.ALREADY_MEMBER', 'That user is a member already');
      if (state.banned.has(command.userId)) throw banned('That user is banned from this group: unban them first');
      if (state.invited.has(command.userId)) return [];
      return [{ type: 'MemberInvited', data: { conversationId, userId: command.userId, invitedBy: actor } }];
    case 'WithdrawInvitation':
      // Like revoking a link: an admin may, and withdrawing what is not pending changes nothing.
      requireAdmin();
      if (!state.invited.has(command.userId)) return [];
      return [{ type: 'InvitationWithdrawn', data: { conversationId, userId: command.userId, withdrawnBy: actor } }];
    case 'CreateInvitationLink':
      requireAdmin();
      return [
        { type: 'InvitationLinkCreated', data: { conversationId, linkHash: command.linkHash, createdBy: actor } },
      ];
    case 'RevokeInvitationLink':
      requireAdmin();
      if (!state.links.has(command.linkHash)) return [];
      return [
        { type: 'InvitationLinkRevoked', data: { conversationId, linkHash: command.linkHash, revokedBy: actor } },
      ];
    case 'LeaveGroup':
      requireGroup();
      if (me.role === 'owner') {
        throw new ConversationError(
          'CONVERSATION.OWNER_CANNOT_LEAVE',
          'Transfer ownership or dissolve the group first',
        );
      }
      return [{ type: 'MemberLeft', data: { conversationId, userId: actor } }];
    case 'KickMember': {
      requireAdmin();
      const target = state.members.get(command.userId);
      if (!target) throw new ConversationError('CONVERSATION.INVALID', 'That user is not a member');
      if (command.userId === actor)
        throw new ConversationError('CONVERSATION.INVALID', 'Leave rather than kick yourself');
      if (target.role === 'owner' || (target.role === 'admin' && me.role !== 'owner')) {
        throw new ConversationError(
          'CONVERSATION.FORBIDDEN',
          'Only the owner may remove an admin, and nobody the owner',
        );
      }
      return [{ type: 'MemberKicked', data: { conversationId, userId: command.userId, kickedBy: actor } }];
    }
    case 'ChangeRole': {
      requireGroup();
      if (me.role !== 'owner') throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only the owner changes roles');
      const target = state.members.get(command.userId);
      if (!target) throw new ConversationError('CONVERSATION.INVALID', 'That user is not a member');
      if (target.role === 'owner') throw new ConversationError('CONVERSATION.INVALID', 'Transfer ownership instead');
      if (target.role === command.role) return [];
      return [
        {
          type: 'MemberRoleChanged',
          data: { conversationId, userId: command.userId, role: command.role, changedBy: actor },
        },
      ];
    }
    case 'TransferOwnership': {
      requireGroup();
      if (me.role !== 'owner')
        throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only the owner transfers ownership');
      if (!state.members.has(command.userId) || command.userId === actor) {
        throw new ConversationError('CONVERSATION.INVALID', 'The new owner must be another member');
      }
      return [
        {
          type: 'MemberRoleChanged',
          data: { conversationId, userId: command.userId, role: 'owner', changedBy: actor },
        },
        { type: 'MemberRoleChanged', data: { conversationId, userId: actor, role: 'admin', changedBy: actor } },
      ];
    }
    case 'SilenceMember': {
      requireAdmin();
      checkOutranks(command.userId, 'silences');
      if (!state.members.has(command.userId))
        throw new ConversationError('CONVERSATION.INVALID', 'That user is not a member');
      if (
        !Number.isInteger(command.durationSeconds) ||
        command.durationSeconds < 1 ||
        command.durationSeconds > MAX_SILENCE_SECONDS
      ) {
        throw new ConversationError(
          'CONVERSATION.INVALID',
          `A silence lasts from 1 to ${MAX_SILENCE_SECONDS} seconds (366 days)`,
        );
      }
      const until = new Date(command.now.getTime() + command.durationSeconds * 1000).toISOString();
      return [{ type: 'MemberSilenced', data: { conversationId, userId: command.userId, until, silencedBy: actor } }];
    }
    case 'UnsilenceMember':
      requireAdmin();
      if (command.userId === actor)
        throw new ConversationError('CONVERSATION.FORBIDDEN', 'Nobody lifts their own silence');
      checkOutranks(command.userId, 'unsilences');
      if (!state.silenced.has(command.userId)) return [];
      return [{ type: 'MemberUnsilenced', data: { conversationId, userId: command.userId, unsilencedBy: actor } }];
    case 'BanMember': {
      requireAdmin();
      checkOutranks(command.userId, 'bans');
      if (state.banned.has(command.userId)) return [];
      const ban: ConversationEvent = {
        type: 'MemberBanned',
        data: { conversationId, userId: command.userId, bannedBy: actor },
      };
      // The ban first: the removed member's socket gets both (it ends at their removal).
      return state.members.has(command.userId)
        ? [ban, { type: 'MemberKicked', data: { conversationId, userId: command.userId, kickedBy: actor } }]
        : [ban];
    }
    case 'UnbanMember':
      requireAdmin();
      if (!state.banned.has(command.userId)) return [];
      return [{ type: 'MemberUnbanned', data: { conversationId, userId: command.userId, unbannedBy: actor } }];
    case 'PinMessage': {
      requirePinner();
      const target = message(command.messageId);
      if (target.deleted) throw new ConversationError('MESSAGE.DELETED', 'That message was deleted');
      if (state.pinned.has(command.messageId)) return [];
      if (state.pinned.size >= MAX_PINS) {
        throw new ConversationError('CONVERSATION.INVALID', `At most ${MAX_PINS} pinned messages: unpin one first`);
      }
      return [{ type: 'MessagePinned', data: { conversationId, messageId: command.messageId, pinnedBy: actor } }];
    }
    case 'UnpinMessage':
      requirePinner();
      if (!state.pinned.has(command.messageId)) return [];
      return [{ type: 'MessageUnpinned', data: { conversationId, messageId: command.messageId, unpinnedBy: actor } }];
    case 'DissolveGroup':
      requireGroup();
      if (me.role !== 'owner')
        throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only the owner dissolves a group');
      return [{ type: 'GroupDissolved', data: { conversationId, dissolvedBy: actor } }];
    case 'SendMessage': {
      checkMayWrite(command.now);
      if (state.messages.has(command.messageId))
        throw new ConversationError('CONVERSATION.INVALID', 'That message id is taken');
      checkText(command.text);
      if (command.text.trim() === '' && command.attachments.length === 0) {
        throw new ConversationError('CONVERSATION.INVALID', 'A message needs text or an attachment');
      }
      checkMentions(command.mentions);
      if (command.replyToMessageId !== undefined) message(command.replyToMessageId);
      return [
        {
          type: 'MessageSent',
          data: {
            conversationId,
            messageId: command.messageId,
            senderId: actor,
            text: command.text,
            ...(command.replyToMessageId !== undefined ? { replyToMessageId: command.replyToMessageId } : {}),
            mentions: { userIds: [...new Set(command.mentions.userIds)], all: command.mentions.all },
            attachments: [...command.attachments],
          },
        },
      ];
    }
    case 'EditMessage': {
      const target = message(command.messageId);
      if (target.authorId !== actor)
        throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only the author edits a message');
      if (target.deleted) throw new ConversationError('MESSAGE.DELETED', 'That message was deleted');
      checkMayWrite(command.now);
      checkText(command.text);
      checkMentions(command.mentions);
      return [
        {
          type: 'MessageEdited',
          data: {
            conversationId,
            messageId: command.messageId,
            text: command.text,
            mentions: { ...command.mentions, userIds: [...new Set(command.mentions.userIds)] },
          },
        },
      ];
    }
    case 'DeleteMessage': {
      const target = message(command.messageId);
      if (target.authorId !== actor && !(state.kind === 'group' && isAdmin(me.role))) {
        throw new ConversationError('CONVERSATION.FORBIDDEN', 'Only the author or an admin deletes a message');
      }
      if (target.deleted) return [];
      return [{ type: 'MessageDeleted', data: { conversationId, messageId: command.messageId, deletedBy: actor } }];
    }
    case 'AddReaction': {
      const target = message(command.messageId);
      if (target.deleted) throw new ConversationError('MESSAGE.DELETED', 'That message was deleted');
      if (target.reactions.has(`${command.emoji} ${actor}`)) return [];
      return [
        {
          type: 'ReactionAdded',
          data: { conversationId, messageId: command.messageId, userId: actor, emoji: command.emoji },
        },
      ];
    }
    case 'RemoveReaction': {
      const target = message(command.messageId);
      if (!target.reactions.has(`${command.emoji} ${actor}`)) return [];
      return [
        {
          type: 'ReactionRemoved',
          data: { conversationId, messageId: command.messageId, userId: actor, emoji: command.emoji },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}
