import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const DirectConversationStarted = defineEvent({
  type: 'DirectConversationStarted',
  version: 1,
  category: 'conversation',
  description: 'A direct (1:1) conversation between two users began; there is one per pair.',
  schema: z.object({
    conversationId: id('The conversation, derived from the pair of users.'),
    memberIds: z.tuple([z.uuid(), z.uuid()]).meta({ description: 'The two users, in ascending order.' }),
  }),
});
