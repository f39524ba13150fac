/**
 * A conversation's state as the command side needs it to decide, folded from its stream
 * (`evolve`). Plain data, no framework: the same fold runs in tests and in the service.
 */
import type { EventIn } from '@herald/events';

export type ConversationEvent = EventIn<'conversation'>;

export type Role = 'owner' | 'admin' | 'member';

export interface Member {
  readonly role: Role;
  readonly mutedUntil: string | null;
  readonly muted: boolean;
}

export interface MessageState {
  readonly authorId: string;
  readonly deleted: boolean;
  /** `emoji userId` pairs present now. */
  readonly reactions: ReadonlySet<string>;
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
  readonly members: ReadonlyMap<string, Member>;
  readonly invited: ReadonlySet<string>;
  /** Hashes of the invitation links that still let people join. */
  readonly links: ReadonlySet<string>;
  readonly messages: ReadonlyMap<string, MessageState>;
  /** `senderId clientMessageId` → the message it created, for idempotent retries. */
  readonly sent: ReadonlyMap<string, SentMessage>;
}

export const initialConversation = (id: string): Conversation => ({
  id,
  kind: null,
  seq: -1,
  dissolved: false,
  name: null,
  members: new Map(),
  invited: new Set(),
  links: new Set(),
  messages: new Map(),
  sent: new Map(),
});

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
        members: new Map(event.data.memberIds.map((id) => [id, { role: 'member', muted: false, mutedUntil: null }])),
      };
    case 'GroupCreated':
      return {
        ...next,
        kind: 'group',
        name: event.data.name,
        members: new Map<string, Member>([
          [event.data.ownerId, { role: 'owner', muted: false, mutedUntil: null }],
          ...event.data.memberIds.map((id): [string, Member] => [
            id,
            { role: 'member', muted: false, mutedUntil: null },
          ]),
        ]),
      };
    case 'GroupRenamed':
      return { ...next, name: event.data.name };
    case 'MemberInvited':
      return { ...next, invited: new Set([...state.invited, event.data.userId]) };
    case 'MemberJoined': {
      const invited = new Set(state.invited);
      invited.delete(event.data.userId);
      const members = new Map(state.members);
      members.set(event.data.userId, { role: 'member', muted: false, mutedUntil: null });
      return { ...next, invited, members };
    }
    case 'MemberLeft':
    case 'MemberKicked': {
      const members = new Map(state.members);
      members.delete(event.data.userId);
      return { ...next, members };
    }
    case 'MemberRoleChanged': {
      const member = state.members.get(event.data.userId);
      if (!member) return next;
      const members = new Map(state.members);
      members.set(event.data.userId, { ...member, role: event.data.role });
      return { ...next, members };
    }
    case 'ConversationMuteChanged': {
      const member = state.members.get(event.data.userId);
      if (!member) return next;
      const members = new Map(state.members);
      members.set(event.data.userId, { ...member, muted: event.data.muted, mutedUntil: event.data.until ?? null });
      return { ...next, members };
    }
    case 'GroupDissolved':
      return { ...next, dissolved: true };
    case 'InvitationLinkCreated':
      return { ...next, links: new Set(state.links).add(event.data.linkHash) };
    case 'InvitationLinkRevoked': {
      const links = new Set(state.links);
      links.delete(event.data.linkHash);
      return { ...next, links };
    }
    case 'MessageSent': {
      const messages = new Map(state.messages);
      messages.set(event.data.messageId, { authorId: event.data.senderId, deleted: false, reactions: new Set() });
      const sent = clientMessageId
        ? new Map(state.sent).set(sentKey(event.data.senderId, clientMessageId), {
            messageId: event.data.messageId,
            seq,
          })
        : state.sent;
      return { ...next, messages, sent };
    }
    case 'MessageDeleted':
      return withMessage(next, event.data.messageId, (m) => ({ ...m, deleted: true }));
    case 'ReactionAdded':
      return withMessage(next, event.data.messageId, (m) => ({
        ...m,
        reactions: new Set(m.reactions).add(`${event.data.emoji} ${event.data.userId}`),
      }));
    case 'ReactionRemoved':
      return withMessage(next, event.data.messageId, (m) => {
        const reactions = new Set(m.reactions);
        reactions.delete(`${event.data.emoji} ${event.data.userId}`);
        return { ...m, reactions };
      });
    case 'GroupDetailsChanged':
    case 'MessageEdited':
      return next;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

function withMessage(state: Conversation, id: string, change: (m: MessageState) => MessageState): Conversation {
  const message = state.messages.get(id);
  if (!message) return state;
  return { ...state, messages: new Map(state.messages).set(id, change(message)) };
}
