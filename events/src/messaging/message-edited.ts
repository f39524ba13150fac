import { z } from 'zod';
import { defineEvent, id, MAX_MESSAGE_TEXT, personal } from '../define.js';
import { Mentions } from './message-sent.js';

export const MessageEdited = defineEvent({
  type: 'MessageEdited',
  version: 1,
  category: 'conversation',
  description: 'The author changed the text of a message.',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    text: personal(z.string().max(MAX_MESSAGE_TEXT), 'The new text.'),
    mentions: Mentions,
  }),
});
