import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberJoined = defineEvent({
  type: 'MemberJoined',
  version: 1,
  category: 'conversation',
  description: 'A user became a member of a group, by accepting an invitation or through an invitation link.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The new member.'),
    via: z.enum(['invitation', 'link']).meta({ description: 'How they joined.' }),
  }),
});
