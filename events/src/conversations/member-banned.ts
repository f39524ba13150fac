import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const MemberBanned = defineEvent({
  type: 'MemberBanned',
  version: 1,
  category: 'conversation',
  description:
    'An admin banned a user from a group: they cannot join it by an invitation or a link, nor be invited, until unbanned; a pending invitation of theirs ends. A ban of a member is followed, in the same append, by the MemberKicked that removes them (a kick alone bans nobody).',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The banned user (a member or not).'),
    bannedBy: id('The admin (or owner) who banned them.'),
  }),
});

export const MemberUnbanned = defineEvent({
  type: 'MemberUnbanned',
  version: 1,
  category: 'conversation',
  description:
    'An admin lifted a ban: the user may be invited, or join by a link, again (they are not made a member by it).',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The user who was banned.'),
    unbannedBy: id('The admin (or owner) who lifted it.'),
  }),
});
