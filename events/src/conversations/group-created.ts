import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const GroupCreated = defineEvent({
  type: 'GroupCreated',
  version: 1,
  category: 'conversation',
  description: 'A group conversation was created; the creator is its owner, the listed users its first members.',
  schema: z.object({
    conversationId: id('The new group.'),
    ownerId: id('The creator, who owns the group.'),
    name: z.string().min(1).max(128).meta({ description: 'Group name.' }),
    description: z.string().max(2048).optional().meta({ description: 'Group description.' }),
    memberIds: z.array(z.uuid()).max(1000).meta({ description: 'Members besides the owner.' }),
  }),
});
