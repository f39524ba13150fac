import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberKicked = defineEvent({
  type: 'MemberKicked',
  version: 1,
  category: 'conversation',
  description: 'An admin removed a member from a group; they keep read access to history up to this event.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The removed member.'),
    kickedBy: id('The admin who removed them.'),
  }),
});
