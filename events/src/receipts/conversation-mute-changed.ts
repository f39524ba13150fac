import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const ConversationMuteChanged = defineEvent({
  type: 'ConversationMuteChanged',
  version: 1,
  category: 'receipts',
  description: 'A member muted or unmuted a conversation for themselves.',
  schema: z.object({
    conversationId: id('The conversation.'),
    userId: id('The member.'),
    muted: z.boolean().meta({ description: 'Muted from now on (true) or not (false).' }),
    until: z.iso
      .datetime()
      .nullable()
      .optional()
      .meta({ description: 'Muted until then; null or absent: until unmuted.' }),
  }),
});
