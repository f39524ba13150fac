import type { NewEvent } from '@herald/event-store';
import { randomUUID } from 'node:crypto';

let clock = Date.parse('2026-02-01T00:00:00Z');

function event(type: string, actorId: string, data: Record<string, unknown>): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      actorId,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date(clock++).toISOString(),
    },
  };
}

/** Catalogue-valid events, for tests of followers that read through the catalogue. */
export const catalogueEvents = {
  userRegistered: (userId: string, username: string): NewEvent =>
    event('UserRegistered', userId, { userId, username, displayName: `User ${username}` }),
  /** Internal: lives in the user's stream, never published. */
  passwordSet: (userId: string): NewEvent =>
    event('PasswordSet', userId, { userId, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }),
  messageSent: (conversationId: string, senderId: string, text: string): NewEvent =>
    event('MessageSent', senderId, {
      conversationId,
      messageId: randomUUID(),
      senderId,
      text,
      mentions: { userIds: [], all: false },
      attachments: [],
    }),
};
