import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MessageDeleted = defineEvent({
  type: 'MessageDeleted',
  version: 1,
  category: 'conversation',
  description: 'A message was deleted (recalled) by its author or an admin; its content is no longer shown.',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    deletedBy: id('The author or admin who deleted it.'),
  }),
});
