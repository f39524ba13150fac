/**
 * Broken rules of the conversation domain: typed, with a stable code the HTTP edge maps to
 * a status. A user who may not see a conversation gets NOT_FOUND whether or not it exists.
 */
export type ConversationErrorCode =
  | 'CONVERSATION.NOT_FOUND'
  | 'CONVERSATION.ALREADY_EXISTS'
  | 'CONVERSATION.FORBIDDEN'
  | 'CONVERSATION.DISSOLVED'
  | 'CONVERSATION.INVALID'
  | 'CONVERSATION.ALREADY_MEMBER'
  | 'CONVERSATION.OWNER_CANNOT_LEAVE'
  | 'CONVERSATION.SILENCED'
  | 'CONVERSATION.ANNOUNCEMENT_ONLY'
  | 'CONVERSATION.BANNED'
  | 'MESSAGE.NOT_FOUND'
  | 'MESSAGE.DELETED'
  | 'USER.NOT_FOUND';

export class ConversationError extends Error {
  constructor(
    readonly code: ConversationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ConversationError';
  }
}

export const notFound = (): ConversationError =>
  new ConversationError('CONVERSATION.NOT_FOUND', 'No such conversation, or you are not a member');

export const banned = (message: string): ConversationError => new ConversationError('CONVERSATION.BANNED', message);
