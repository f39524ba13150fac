/**
 * The contact relation of two users (`contact-<pairId>`): none, requested (by one of
 * them), or contacts. Whether the other one exists and the blocks between the two come in
 * as facts (the caller looks them up, so the decider stays pure).
 */
import type { EventIn } from '@herald/events';
import { IdentityError } from './errors.js';

export type ContactEvent = EventIn<'contact'>;

export type ContactState =
  | { readonly status: 'none' }
  | { readonly status: 'requested'; readonly requesterId: string; readonly recipientId: string }
  | { readonly status: 'contacts' };

export const noContact: ContactState = { status: 'none' };

export function evolveContact(state: ContactState, event: ContactEvent): ContactState {
  switch (event.type) {
    case 'ContactRequested':
      return { status: 'requested', requesterId: event.data.requesterId, recipientId: event.data.recipientId };
    case 'ContactRequestAccepted':
      return { status: 'contacts' };
    case 'ContactRequestDeclined':
    case 'ContactRemoved':
      return noContact;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export interface ContactCommand {
  readonly type: 'Request' | 'Accept' | 'Decline' | 'Remove';
  readonly actorId: string;
  readonly otherId: string;
}

/** What the caller looks up before deciding. */
export interface ContactFacts {
  /** The other one registered. */
  readonly otherExists: boolean;
  /** The other one has blocked the actor. */
  readonly byOther: boolean;
  /** The actor has blocked the other one. */
  readonly byActor: boolean;
}

/** What a command decides, and whether it is withheld: answered as written, never written. */
export interface ContactDecision {
  readonly events: ContactEvent[];
  readonly withheld: boolean;
}

/**
 * Decides a contact command. A request or an acceptance by someone the other one blocked
 * is decided as anyone's and withheld: they are answered as if it happened, and the one who
 * blocked them sees nothing (docs/adr/007-blocks-reveal-nothing.md). Declining and removing
 * only end a relation, and go through. The one who blocked must unblock before asking.
 */
export function decideContact(command: ContactCommand, state: ContactState, facts: ContactFacts): ContactDecision {
  if (!facts.otherExists) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  const events = decideRelation(command, state);
  const befriends = command.type === 'Request' || command.type === 'Accept';
  if (befriends && facts.byActor && events.length > 0) {
    throw new IdentityError('USER.INVALID', 'You blocked this user: unblock them first');
  }
  return { events, withheld: befriends && facts.byOther && events.length > 0 };
}

function decideRelation(command: ContactCommand, state: ContactState): ContactEvent[] {
  const { actorId, otherId } = command;
  if (actorId === otherId) throw new IdentityError('USER.INVALID', 'That is you');
  switch (command.type) {
    case 'Request':
      if (state.status === 'contacts') return [];
      if (state.status === 'requested') {
        // Asking someone who asked you first is accepting.
        if (state.requesterId === otherId)
          return [{ type: 'ContactRequestAccepted', data: { requesterId: otherId, recipientId: actorId } }];
        return [];
      }
      return [{ type: 'ContactRequested', data: { requesterId: actorId, recipientId: otherId } }];
    case 'Accept':
      if (state.status !== 'requested' || state.recipientId !== actorId) {
        throw new IdentityError('USER.NOT_FOUND', 'No request from that user');
      }
      return [{ type: 'ContactRequestAccepted', data: { requesterId: otherId, recipientId: actorId } }];
    case 'Decline':
      if (state.status !== 'requested') throw new IdentityError('USER.NOT_FOUND', 'No request between you');
      return [
        {
          type: 'ContactRequestDeclined',
          data: { requesterId: state.requesterId, recipientId: state.recipientId, declinedBy: actorId },
        },
      ];
    case 'Remove':
      if (state.status !== 'contacts') return [];
      return [{ type: 'ContactRemoved', data: { userId: actorId, contactId: otherId } }];
    default: {
      const unhandled: never = command.type;
      return unhandled;
    }
  }
}

/**
 * A block declines, in the name of the one who blocked, a request from the one blocked
 * that is still pending (nothing otherwise).
 */
export function declineOnBlock(
  { requesterId, blockerId }: { readonly requesterId: string; readonly blockerId: string },
  state: ContactState,
): ContactEvent[] {
  if (state.status !== 'requested' || state.requesterId !== requesterId) return [];
  return [{ type: 'ContactRequestDeclined', data: { requesterId, recipientId: blockerId, declinedBy: blockerId } }];
}
