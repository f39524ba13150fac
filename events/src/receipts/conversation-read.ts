import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const ConversationRead = defineEvent({
  type: 'ConversationRead',
  version: 1,
  category: 'receipts',
  description: 'A user read a conversation up to a seq (their read marker moves forward only).',
  schema: z.object({
    userId: id('The reader.'),
    conversationId: id('The conversation.'),
    upToSeq: z.number().int().min(0).meta({ description: 'Everything up to this seq is read.' }),
  }),
});
