import { z } from 'zod';
import { defineEvent, id } from '../define.js';

const linkHash = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .meta({ description: 'SHA-256 of the link token (the token itself is shown once, to its creator).' });

export const InvitationLinkCreated = defineEvent({
  type: 'InvitationLinkCreated',
  version: 1,
  category: 'conversation',
  description: 'An admin made an invitation link: whoever has its token may join the group.',
  schema: z.object({ conversationId: id('The group.'), linkHash, createdBy: id('The admin.') }),
});

export const InvitationLinkRevoked = defineEvent({
  type: 'InvitationLinkRevoked',
  version: 1,
  category: 'conversation',
  description: 'An admin revoked an invitation link: its token no longer lets anyone join.',
  schema: z.object({ conversationId: id('The group.'), linkHash, revokedBy: id('The admin.') }),
});
