/**
 * invitations.v1: who is invited to which group, by whom, until they join, the invitation
 * is withdrawn, they are banned or the group is dissolved. Its own read model rather than a table of
 * membership.v1: membership decides who may read (ADR 009), and a new version of it would
 * have to be rebuilt from position 0 before serving; this one builds beside it (ADR 018).
 * Every write is guarded by the event's seq, so applying an event twice changes nothing.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';
import { eachEvent, type Place } from '../each-event.js';

type InvitationEvent = Extract<
  EventIn<'conversation'>,
  { type: 'MemberInvited' | 'MemberJoined' | 'InvitationWithdrawn' | 'MemberBanned' | 'GroupDissolved' }
>;

export const INVITATIONS = 'invitations.v1';

export function invitationsProjection(): Projection {
  return {
    name: INVITATIONS,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation')],
      eventTypes: ['MemberInvited', 'MemberJoined', 'InvitationWithdrawn', 'MemberBanned', 'GroupDissolved'],
    },
    apply: eachEvent<InvitationEvent>(applyOne),
  };
}

async function applyOne(m: EntityManager, event: InvitationEvent, { seq, occurredAt }: Place): Promise<void> {
  switch (event.type) {
    case 'MemberInvited':
      await m.query(
        `INSERT INTO rm_invitations_v1_invitations (user_id, conversation_id, invited_by, invited_at, pending, updated_seq)
         VALUES ($1, $2, $3, $4, true, $5)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET invited_by = $3, invited_at = $4, pending = true, updated_seq = $5
           WHERE rm_invitations_v1_invitations.updated_seq < $5`,
        [event.data.userId, event.data.conversationId, event.data.invitedBy, occurredAt, seq],
      );
      return;
    // A ban ends a pending invitation too (the decider refuses its acceptance).
    case 'MemberJoined':
    case 'InvitationWithdrawn':
    case 'MemberBanned':
      await m.query(
        `UPDATE rm_invitations_v1_invitations SET pending = false, updated_seq = $3
          WHERE user_id = $1 AND conversation_id = $2 AND updated_seq < $3`,
        [event.data.userId, event.data.conversationId, seq],
      );
      return;
    case 'GroupDissolved':
      await m.query(
        `UPDATE rm_invitations_v1_invitations SET pending = false, updated_seq = $2
          WHERE conversation_id = $1 AND pending AND updated_seq < $2`,
        [event.data.conversationId, seq],
      );
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
