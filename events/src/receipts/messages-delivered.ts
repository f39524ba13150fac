import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MessagesDelivered = defineEvent({
  type: 'MessagesDelivered',
  version: 1,
  category: 'receipts',
  description: "A user's device received a conversation's messages up to a seq.",
  schema: z.object({
    userId: id('The recipient.'),
    conversationId: id('The conversation.'),
    upToSeq: z.number().int().min(0).meta({ description: 'Everything up to this seq was delivered.' }),
  }),
});
