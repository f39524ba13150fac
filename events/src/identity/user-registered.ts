import { z } from 'zod';
import { defineEvent, id, personal } from '../define.js';

export const UserRegistered = defineEvent({
  type: 'UserRegistered',
  version: 1,
  category: 'user',
  description: 'A user account was created. Credentials are never part of an event.',
  schema: z.object({
    userId: id('The new user.'),
    username: personal(z.string().min(3).max(32), 'Unique login name, lower case.'),
    displayName: personal(z.string().min(1).max(64), 'Name shown to others.'),
  }),
});
