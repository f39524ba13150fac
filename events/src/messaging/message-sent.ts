import { z } from 'zod';
import { defineEvent, id, messageText, personal } from '../define.js';

export const Mentions = z
  .object({
    userIds: z.array(z.uuid()).max(100).meta({ description: 'Users mentioned explicitly.' }),
    all: z.boolean().meta({ description: '@all: every member is mentioned (admins only).' }),
  })
  .meta({ description: 'Who the message mentions.' });

export const Attachment = z
  .object({
    url: personal(z.url().max(2048), 'Where the bytes are (an object store).'),
    name: personal(z.string().min(1).max(255), 'File name.'),
    mimeType: z.string().min(1).max(255).meta({ description: 'Media type.' }),
    sizeBytes: z.number().int().min(0).meta({ description: 'Size in bytes.' }),
  })
  .meta({ description: 'A file attached to a message: metadata and URL only.' });

export const MessageSent = defineEvent({
  type: 'MessageSent',
  version: 1,
  category: 'conversation',
  description: "A member sent a message. Its seq is the event's stream revision.",
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    senderId: id('The author.'),
    text: messageText('The message text.'),
    replyToMessageId: z.uuid().optional().meta({ description: 'The message this one replies to (its thread).' }),
    mentions: Mentions,
    attachments: z.array(Attachment).max(10).meta({ description: 'Attached files.' }),
  }),
});
