import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const InvitationWithdrawn = defineEvent({
  type: 'InvitationWithdrawn',
  version: 1,
  category: 'conversation',
  description:
    'An admin withdrew a pending invitation to a group: the user can no longer accept it (a new invitation may follow).',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The user who was invited.'),
    withdrawnBy: id('The admin who withdrew it.'),
  }),
});
