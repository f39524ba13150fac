import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberLeft = defineEvent({
  type: 'MemberLeft',
  version: 1,
  category: 'conversation',
  description: 'A member left a group; they keep read access to history up to this event.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The member who left.'),
  }),
});
