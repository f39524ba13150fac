import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberKicked = defineEvent({
  type: 'MemberKicked',
  version: 1,
  category: 'conversation',
  description:
    'An admin removed a member from a group; they keep read access to history up to this event. A kick alone bans nobody (they may be invited again); a ban of a member writes this right after its MemberBanned.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The removed member.'),
    kickedBy: id('The admin who removed them.'),
  }),
});
