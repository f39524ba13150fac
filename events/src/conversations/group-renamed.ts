import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const GroupRenamed = defineEvent({
  type: 'GroupRenamed',
  version: 1,
  category: 'conversation',
  description: 'An admin renamed a group.',
  schema: z.object({
    conversationId: id('The group.'),
    name: z.string().min(1).max(128).meta({ description: 'The new name.' }),
  }),
});
