import { z } from 'zod';
import { boundedDateTime, defineEvent, id } from '../define.js';

export const ConversationMuteChanged = defineEvent({
  type: 'ConversationMuteChanged',
  version: 1,
  category: 'receipts',
  description: 'A member muted or unmuted a conversation for themselves.',
  schema: z.object({
    conversationId: id('The conversation.'),
    userId: id('The member.'),
    muted: z.boolean().meta({ description: 'Muted from now on (true) or not (false).' }),
    until: boundedDateTime()
      .nullable()
      .optional()
      .meta({ description: 'Muted until then (UTC, 1970 through 9999); null or absent: until unmuted.' }),
  }),
});
