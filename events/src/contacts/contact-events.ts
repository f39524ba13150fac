import { z } from 'zod';
import { defineEvent, id } from '../define.js';

const pair = {
  requesterId: id('Who asked.'),
  recipientId: id('Who was asked.'),
};

export const ContactRequested = defineEvent({
  type: 'ContactRequested',
  version: 1,
  category: 'contact',
  description: 'A user asked another to become contacts.',
  schema: z.object(pair),
});

export const ContactRequestAccepted = defineEvent({
  type: 'ContactRequestAccepted',
  version: 1,
  category: 'contact',
  description: 'The recipient accepted: the two are contacts.',
  schema: z.object(pair),
});

export const ContactRequestDeclined = defineEvent({
  type: 'ContactRequestDeclined',
  version: 1,
  category: 'contact',
  description: 'The recipient declined, or the requester withdrew, the request.',
  schema: z.object({ ...pair, declinedBy: id('Who ended the request.') }),
});

export const ContactRemoved = defineEvent({
  type: 'ContactRemoved',
  version: 1,
  category: 'contact',
  description: 'One of two contacts ended the relation.',
  schema: z.object({ userId: id('Who removed the contact.'), contactId: id('The former contact.') }),
});
