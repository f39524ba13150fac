/**
 * A conversation's state as the command side needs it to decide, folded from its stream
 * (`evolve`). Plain data, no framework: the same fold runs in tests and in the service.
 */
import type { EventIn } from '@herald/events';
// Persistent collections: folding an event shares the rest of the state instead of copying
// it, so a send costs O(log n) in a conversation of n messages or a group of n members.
import { Map as PMap, OrderedMap, OrderedSet, Set as PSet } from 'immutable';

/**
 * Messages whose facts the state keeps: the newest of the conversation. Older ones can no
 * longer be edited, deleted or reacted to, and a retried send is recognized only while its
 * first attempt is among them; in exchange a conversation's state stays bounded however
 * long it runs.
 */
export const RECENT_MESSAGES = 2_000;

export type ConversationEvent = EventIn<'conversation'>;

export type Role = 'owner' | 'admin' | 'member';

export interface Member {
  readonly role: Role;
}

export interface MessageState {
  readonly authorId: string;
  readonly deleted: boolean;
  /** `emoji userId` pairs present now. */
  readonly reactions: PSet<string>;
}

export interface SentMessage {
  readonly messageId: string;
  readonly seq: number;
}

export interface Conversation {
  readonly id: string;
  readonly kind: 'direct' | 'group' | null;
  /** The seq of the newest event; -1 before the first. */
  readonly seq: number;
  readonly dissolved: boolean;
  readonly name: string | null;
  readonly members: PMap<string, Member>;
  readonly invited: PSet<string>;
  /** Hashes of the invitation links that still let people join. */
  readonly links: PSet<string>;
  /** Only the owner and admins send (and edit) messages. */
  readonly announcementOnly: boolean;
  /**
   * Silenced users to the end of their silence (an ISO time; one that has passed no longer
   * holds, which only a decider given the time can tell). Kept past leaving: coming back
   * does not end a silence.
   */
  readonly silenced: PMap<string, string>;
  /** Users banned from the group: they may not join, nor be invited, until unbanned. */
  readonly banned: PSet<string>;
  /** Pinned messages, oldest pin first; a deletion ends a pin. */
  readonly pinned: OrderedSet<string>;
  /** The RECENT_MESSAGES newest messages, oldest first. */
  readonly messages: OrderedMap<string, MessageState>;
  /** `senderId clientMessageId` → the message it created, for idempotent retries. */
  readonly sent: OrderedMap<string, SentMessage>;
}

export const initialConversation = (id: string): Conversation => ({
  id,
  kind: null,
  seq: -1,
  dissolved: false,
  name: null,
  members: PMap(),
  invited: PSet(),
  links: PSet(),
  announcementOnly: false,
  silenced: PMap(),
  banned: PSet(),
  pinned: OrderedSet(),
  messages: OrderedMap(),
  sent: OrderedMap(),
});

const MEMBER: Member = { role: 'member' };

export const sentKey = (senderId: string, clientMessageId: string): string => `${senderId} ${clientMessageId}`;

export interface Recorded {
  readonly event: ConversationEvent;
  readonly seq: number;
  readonly clientMessageId?: string;
}

/** Folds one recorded event into the state; events of other types leave it as it is. */
export function evolve(state: Conversation, { event, seq, clientMessageId }: Recorded): Conversation {
  const next = { ...state, seq };
  switch (event.type) {
    case 'DirectConversationStarted':
      return {
        ...next,
        kind: 'direct',
        members: PMap(event.data.memberIds.map((id): [string, Member] => [id, MEMBER])),
      };
    case 'GroupCreated':
      return {
        ...next,
        kind: 'group',
        name: event.data.name,
        members: PMap<string, Member>([
          [event.data.ownerId, { ...MEMBER, role: 'owner' }],
          ...event.data.memberIds.map((id): [string, Member] => [id, MEMBER]),
        ]),
      };
    case 'GroupRenamed':
      return { ...next, name: event.data.name };
    case 'MemberInvited':
      return { ...next, invited: state.invited.add(event.data.userId) };
    case 'InvitationWithdrawn':
      return { ...next, invited: state.invited.delete(event.data.userId) };
    case 'MemberJoined':
      return {
        ...next,
        invited: state.invited.delete(event.data.userId),
        members: state.members.set(event.data.userId, MEMBER),
      };
    case 'MemberLeft':
    case 'MemberKicked':
      return { ...next, members: state.members.delete(event.data.userId) };
    case 'MemberRoleChanged': {
      const member = state.members.get(event.data.userId);
      if (!member) return next;
      return { ...next, members: state.members.set(event.data.userId, { ...member, role: event.data.role }) };
    }
    case 'GroupDissolved':
      return { ...next, dissolved: true };
    case 'InvitationLinkCreated':
      return { ...next, links: state.links.add(event.data.linkHash) };
    case 'InvitationLinkRevoked':
      return { ...next, links: state.links.delete(event.data.linkHash) };
    case 'MessageSent': {
      const messages = state.messages.set(event.data.messageId, {
        authorId: event.data.senderId,
        deleted: false,
        reactions: PSet(),
      });
      const sent = clientMessageId
        ? state.sent.set(sentKey(event.data.senderId, clientMessageId), { messageId: event.data.messageId, seq })
        : state.sent;
      return { ...next, messages: recent(messages), sent: recent(sent) };
    }
    case 'MessageDeleted':
      return {
        ...withMessage(next, event.data.messageId, (m) => ({ ...m, deleted: true })),
        pinned: state.pinned.delete(event.data.messageId),
      };
    case 'ReactionAdded':
      return withMessage(next, event.data.messageId, (m) => ({
        ...m,
        reactions: m.reactions.add(`${event.data.emoji} ${event.data.userId}`),
      }));
    case 'ReactionRemoved':
      return withMessage(next, event.data.messageId, (m) => ({
        ...m,
        reactions: m.reactions.delete(`${event.data.emoji} ${event.data.userId}`),
      }));
    case 'GroupAnnouncementOnlyChanged':
      return { ...next, announcementOnly: event.data.announcementOnly };
    case 'MemberSilenced':
      return { ...next, silenced: state.silenced.set(event.data.userId, event.data.until) };
    case 'MemberUnsilenced':
      return { ...next, silenced: state.silenced.delete(event.data.userId) };
    case 'MemberBanned':
      // A pending invitation ends with the ban; a member's removal is the MemberKicked after it.
      return {
        ...next,
        banned: state.banned.add(event.data.userId),
        invited: state.invited.delete(event.data.userId),
      };
    case 'MemberUnbanned':
      return { ...next, banned: state.banned.delete(event.data.userId) };
    case 'MessagePinned':
      return { ...next, pinned: state.pinned.add(event.data.messageId) };
    case 'MessageUnpinned':
      return { ...next, pinned: state.pinned.delete(event.data.messageId) };
    case 'GroupDetailsChanged':
    case 'MessageEdited':
      return next;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** Forgets the oldest entry past RECENT_MESSAGES (one message arrives at a time). */
function recent<V>(map: OrderedMap<string, V>): OrderedMap<string, V> {
  return map.size > RECENT_MESSAGES ? map.delete(map.keySeq().first()!) : map;
}

function withMessage(state: Conversation, id: string, change: (m: MessageState) => MessageState): Conversation {
  const message = state.messages.get(id);
  if (!message) return state;
  return { ...state, messages: state.messages.set(id, change(message)) };
}
