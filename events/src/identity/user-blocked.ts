import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const UserBlocked = defineEvent({
  type: 'UserBlocked',
  version: 1,
  category: 'user',
  description:
    'A user blocked another: the blocked one can no longer start a direct conversation with them, send to them directly, or ask them to be a contact.',
  schema: z.object({ userId: id('Who blocked.'), blockedUserId: id('Who is blocked.') }),
});

export const UserUnblocked = defineEvent({
  type: 'UserUnblocked',
  version: 1,
  category: 'user',
  description: 'A user lifted a block.',
  schema: z.object({ userId: id('Who had blocked.'), blockedUserId: id('Who was blocked.') }),
});
