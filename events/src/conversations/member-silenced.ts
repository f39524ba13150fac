import { z } from 'zod';
import { boundedDateTime, defineEvent, id } from '../define.js';

export const MemberSilenced = defineEvent({
  type: 'MemberSilenced',
  version: 1,
  category: 'conversation',
  description:
    'An admin silenced a member of a group (禁言): their sends and edits are refused until `until`. A later MemberSilenced replaces the end; it outlasts leaving and coming back.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The silenced member.'),
    until: boundedDateTime().meta({
      description: 'Silenced until then (UTC): the time it was decided plus the duration the admin gave.',
    }),
    silencedBy: id('The admin (or owner) who silenced them.'),
  }),
});

export const MemberUnsilenced = defineEvent({
  type: 'MemberUnsilenced',
  version: 1,
  category: 'conversation',
  description: 'An admin lifted a silence before its end: the member may send again.',
  schema: z.object({
    conversationId: id('The group.'),
    userId: id('The member who was silenced.'),
    unsilencedBy: id('The admin (or owner) who lifted it.'),
  }),
});
