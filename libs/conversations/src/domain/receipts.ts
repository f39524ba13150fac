/**
 * The receipts decider: read markers, delivery receipts and mutes, a member's own business.
 * They are decided against the conversation's state (only a member marks or mutes, and only
 * seqs that exist) and written to the member's own stream (`receipts-<userId>`), never the
 * conversation's: reading costs a busy group nothing, and nobody else sees a mute. Pure, as
 * the conversation decider is.
 */
import type { EventIn } from '@herald/events';
import type { Conversation } from './conversation.js';
import { ConversationError, notFound } from './errors.js';

export type ReceiptEvent = EventIn<'receipts'>;

export type ReceiptCommand = { readonly actorId: string } & (
  | { readonly type: 'MarkRead'; readonly upToSeq: number }
  | { readonly type: 'MarkDelivered'; readonly upToSeq: number }
  | { readonly type: 'ChangeMute'; readonly muted: boolean; readonly until?: string | null }
);

export function decideReceipt(command: ReceiptCommand, conversation: Conversation): ReceiptEvent[] {
  if (!conversation.members.has(command.actorId)) throw notFound();
  const conversationId = conversation.id;
  const userId = command.actorId;
  switch (command.type) {
    case 'MarkRead':
    case 'MarkDelivered': {
      if (command.upToSeq > conversation.seq) {
        throw new ConversationError(
          'CONVERSATION.INVALID',
          `This conversation has no seq ${command.upToSeq} yet (last: ${conversation.seq})`,
        );
      }
      const data = { userId, conversationId, upToSeq: command.upToSeq };
      return [command.type === 'MarkRead' ? { type: 'ConversationRead', data } : { type: 'MessagesDelivered', data }];
    }
    case 'ChangeMute':
      return [
        {
          type: 'ConversationMuteChanged',
          data: {
            conversationId,
            userId,
            muted: command.muted,
            // Unmuting has no end; muting without one lasts until unmuted.
            ...(command.muted ? { until: command.until ?? null } : {}),
          },
        },
      ];
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}
