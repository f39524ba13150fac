import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const Emoji = z.string().min(1).max(64).meta({ description: 'The reaction: an emoji or a short code.' });

export const ReactionAdded = defineEvent({
  type: 'ReactionAdded',
  version: 1,
  category: 'conversation',
  description: 'A member reacted to a message (one reaction per emoji per user).',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    userId: id('Who reacted.'),
    emoji: Emoji,
  }),
});
