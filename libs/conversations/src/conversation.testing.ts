/** For ConversationService's specs (unit, over the in-memory store; integration, over PostgreSQL). */
import type { CommandContext } from '@herald/commands';
import { randomUUID } from 'node:crypto';
import type { ConversationCommand } from './domain/decide.js';

/** A command's context as `actorId`, now. */
export const contextOf = (actorId: string): CommandContext => ({
  actorId,
  correlationId: randomUUID(),
  now: new Date(),
});

/** A plain text send (a new message id each time; a retry repeats the clientMessageId). */
export const sendOf = (
  actorId: string,
  clientMessageId: string,
  text = 'hi',
): Extract<ConversationCommand, { type: 'SendMessage' }> => ({
  type: 'SendMessage',
  actorId,
  messageId: randomUUID(),
  clientMessageId,
  text,
  mentions: { userIds: [], all: false },
  attachments: [],
  now: new Date(),
});
