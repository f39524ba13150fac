/**
 * moderation.v1: what group moderation decided, for the reads that show it: whether a group
 * is announcement-only, who is silenced until when, who is banned, and every pin as a span
 * of seqs (pinned at, unpinned or deleted at). Every write is guarded by the seq that made
 * it (a setting, silence or ban changes only for a later seq; a pin is keyed by its seq and
 * ends only if it began before the seq that ends it), so applying an event twice, or the
 * whole history again, changes nothing; no clock: a silence's end is the event's.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';
import { eachEvent, type Place } from '../each-event.js';

type ConversationEvent = EventIn<'conversation'>;

export const MODERATION = 'moderation.v1';

export function moderationProjection(): Projection {
  return {
    name: MODERATION,
    filter: {
      streamPrefixes: [streamPrefixOf('conversation')],
      eventTypes: [
        'GroupAnnouncementOnlyChanged',
        'MemberSilenced',
        'MemberUnsilenced',
        'MemberBanned',
        'MemberUnbanned',
        'MessagePinned',
        'MessageUnpinned',
        'MessageDeleted',
      ],
    },
    apply: eachEvent<ConversationEvent>(applyOne),
  };
}

/** Ends the standing pin of message $2 at seq $3 if it began before (a later pin is a new one). */
const END_PIN = `
  UPDATE rm_moderation_v1_pins SET unpinned_seq = $3
   WHERE conversation_id = $1 AND message_id = $2 AND unpinned_seq IS NULL AND pinned_seq < $3`;

async function applyOne(m: EntityManager, event: ConversationEvent, { seq, occurredAt: at }: Place): Promise<void> {
  switch (event.type) {
    case 'GroupAnnouncementOnlyChanged':
      await m.query(
        `INSERT INTO rm_moderation_v1_groups (conversation_id, announcement_only, updated_seq) VALUES ($1, $2, $3)
         ON CONFLICT (conversation_id) DO UPDATE SET announcement_only = $2, updated_seq = $3
           WHERE rm_moderation_v1_groups.updated_seq < $3`,
        [event.data.conversationId, event.data.announcementOnly, seq],
      );
      return;
    case 'MemberSilenced':
      await m.query(
        `INSERT INTO rm_moderation_v1_silences (conversation_id, user_id, silenced_until, silenced_by, updated_seq)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET silenced_until = $3, silenced_by = $4, updated_seq = $5
           WHERE rm_moderation_v1_silences.updated_seq < $5`,
        [event.data.conversationId, event.data.userId, event.data.until, event.data.silencedBy, seq],
      );
      return;
    case 'MemberUnsilenced':
      await m.query(
        `UPDATE rm_moderation_v1_silences SET silenced_until = NULL, updated_seq = $3
          WHERE conversation_id = $1 AND user_id = $2 AND updated_seq < $3`,
        [event.data.conversationId, event.data.userId, seq],
      );
      return;
    case 'MemberBanned':
      await m.query(
        `INSERT INTO rm_moderation_v1_bans (conversation_id, user_id, banned, banned_by, banned_at, updated_seq)
         VALUES ($1, $2, true, $3, $4, $5)
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET banned = true, banned_by = $3, banned_at = $4, updated_seq = $5
           WHERE rm_moderation_v1_bans.updated_seq < $5`,
        [event.data.conversationId, event.data.userId, event.data.bannedBy, at, seq],
      );
      return;
    case 'MemberUnbanned':
      await m.query(
        `UPDATE rm_moderation_v1_bans SET banned = false, updated_seq = $3
          WHERE conversation_id = $1 AND user_id = $2 AND updated_seq < $3`,
        [event.data.conversationId, event.data.userId, seq],
      );
      return;
    case 'MessagePinned':
      // Keyed by its own seq: delivered again, it finds its row.
      await m.query(
        `INSERT INTO rm_moderation_v1_pins (conversation_id, pinned_seq, message_id, pinned_by, pinned_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [event.data.conversationId, seq, event.data.messageId, event.data.pinnedBy, at],
      );
      return;
    case 'MessageUnpinned':
    case 'MessageDeleted':
      // A deletion ends its message's pin as an unpin does (the decider drops it too).
      await m.query(END_PIN, [event.data.conversationId, event.data.messageId, seq]);
      return;
    // Not moderation's (its filter does not even read them).
    case 'DirectConversationStarted':
    case 'GroupCreated':
    case 'GroupRenamed':
    case 'GroupDetailsChanged':
    case 'MemberInvited':
    case 'InvitationWithdrawn':
    case 'InvitationLinkCreated':
    case 'InvitationLinkRevoked':
    case 'MemberJoined':
    case 'MemberLeft':
    case 'MemberKicked':
    case 'MemberRoleChanged':
    case 'GroupDissolved':
    case 'MessageSent':
    case 'MessageEdited':
    case 'ReactionAdded':
    case 'ReactionRemoved':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
