/**
 * The contact relation of two users (`contact-<pairId>`): none, requested (by one of
 * them), or contacts. Requests need no block between the two (the caller says whether
 * there is one, so the decider stays pure).
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

export type ContactCommand =
  | { readonly type: 'Request'; readonly actorId: string; readonly otherId: string; readonly blocked: boolean }
  | { readonly type: 'Accept' | 'Decline' | 'Remove'; readonly actorId: string; readonly otherId: string };

export function decideContact(command: ContactCommand, state: ContactState): ContactEvent[] {
  const { actorId, otherId } = command;
  if (actorId === otherId) throw new IdentityError('USER.INVALID', 'That is you');
  switch (command.type) {
    case 'Request':
      // A block is not revealed: the request is refused as if the user did not exist.
      if (command.blocked) throw new IdentityError('USER.NOT_FOUND', 'No such user');
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
      const unhandled: never = command;
      return unhandled;
    }
  }
}
