import { z } from 'zod';
import { defineEvent, id, messageText } from '../define.js';
import { Mentions } from './message-sent.js';

export const MessageEdited = defineEvent({
  type: 'MessageEdited',
  version: 1,
  category: 'conversation',
  description: 'The author changed the text of a message.',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    text: messageText('The new text.'),
    mentions: Mentions,
  }),
});
