import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const GroupDetailsChanged = defineEvent({
  type: 'GroupDetailsChanged',
  version: 1,
  category: 'conversation',
  description: "An admin changed a group's description or announcement; only the fields present changed.",
  schema: z.object({
    conversationId: id('The group.'),
    description: z
      .string()
      .max(2048)
      .nullable()
      .optional()
      .meta({ description: 'New description, or null to clear it.' }),
    announcement: z
      .string()
      .max(4096)
      .nullable()
      .optional()
      .meta({ description: 'New announcement, or null to clear it.' }),
  }),
});
