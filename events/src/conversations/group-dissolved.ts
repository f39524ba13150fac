import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const GroupDissolved = defineEvent({
  type: 'GroupDissolved',
  version: 1,
  category: 'conversation',
  description: 'The owner dissolved a group: nothing more can be written to it; members keep its history.',
  schema: z.object({
    conversationId: id('The group.'),
    dissolvedBy: id('The owner.'),
  }),
});
