import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MessagePinned = defineEvent({
  type: 'MessagePinned',
  version: 1,
  category: 'conversation',
  description:
    'A message was pinned: by an admin in a group, by either member in a direct conversation. It stays pinned until a MessageUnpinned, or until the message is deleted (the MessageDeleted ends its pin; no MessageUnpinned is written).',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The pinned message.'),
    pinnedBy: id('Who pinned it.'),
  }),
});

export const MessageUnpinned = defineEvent({
  type: 'MessageUnpinned',
  version: 1,
  category: 'conversation',
  description: 'A pinned message was unpinned: by an admin in a group, by either member in a direct conversation.',
  schema: z.object({
    conversationId: id('The conversation.'),
    messageId: id('The message.'),
    unpinnedBy: id('Who unpinned it.'),
  }),
});
