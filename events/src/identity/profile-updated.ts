import { z } from 'zod';
import { defineEvent, id, personal } from '../define.js';

export const ProfileUpdated = defineEvent({
  type: 'ProfileUpdated',
  version: 1,
  category: 'user',
  description: 'A user changed their profile; only the fields present changed (null clears a field).',
  schema: z.object({
    userId: id('The user whose profile changed.'),
    displayName: personal(z.string().min(1).max(64), 'New display name.').optional(),
    avatarUrl: personal(z.url().max(2048).nullable(), 'New avatar URL, or null to remove it.').optional(),
    statusText: personal(z.string().max(140).nullable(), 'New status text, or null to clear it.').optional(),
  }),
});
