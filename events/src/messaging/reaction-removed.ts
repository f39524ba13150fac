import { z } from 'zod';
import { defineEvent, id } from '../define.js';
import { Emoji } from './reaction-added.js';

export const ReactionRemoved = defineEvent({
  type: 'ReactionRemoved',
  version: 1,
  category: 'conversation',
  description: 'A member took back their reaction to a message.',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    userId: id('Who reacted.'),
    emoji: Emoji,
  }),
});
