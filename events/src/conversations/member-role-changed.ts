import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberRoleChanged = defineEvent({
  type: 'MemberRoleChanged',
  version: 1,
  category: 'conversation',
  description:
    "A member's role changed: made admin, made member again, or made owner by a transfer (the previous owner becomes admin).",
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The member whose role changed.'),
    role: z.enum(['owner', 'admin', 'member']).meta({ description: 'The new role.' }),
    changedBy: id('Who changed it.'),
  }),
});
