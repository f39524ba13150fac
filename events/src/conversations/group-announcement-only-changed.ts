import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const GroupAnnouncementOnlyChanged = defineEvent({
  type: 'GroupAnnouncementOnlyChanged',
  version: 1,
  category: 'conversation',
  description:
    "An admin made a group announcement-only (only its owner and admins send and edit messages) or open to every member's messages again.",
  schema: z.object({
    conversationId: id('The group.'),
    announcementOnly: z
      .boolean()
      .meta({ description: 'Only the owner and admins send (true), or every member (false).' }),
    changedBy: id('The admin (or owner) who changed it.'),
  }),
});
