import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberInvited = defineEvent({
  type: 'MemberInvited',
  version: 1,
  category: 'conversation',
  description: 'A member invited a user to a group; the user becomes a member when they accept.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The invited user.'),
    invitedBy: id('Who invited them.'),
  }),
});
