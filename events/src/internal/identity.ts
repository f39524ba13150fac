/**
 * Identity's internal events: what sign-in needs to decide, kept out of the integration
 * stream. Password and refresh-token hashes never leave Herald (and never reach a log).
 * PasswordSet and SignInAttempted live in the user's own stream, so that registering is
 * one atomic append; the relay skips them by type.
 */
import { z } from 'zod';
import { defineEvent, id } from '../define.js';

export const UsernameClaimed = defineEvent({
  type: 'UsernameClaimed',
  version: 1,
  category: 'username',
  description: 'A user name was taken by a new user; the claim makes names unique.',
  schema: z.object({ username: z.string().min(3).max(32), userId: id('The user who holds it.') }),
});

export const PasswordSet = defineEvent({
  type: 'PasswordSet',
  version: 1,
  category: 'user',
  description: "A user's password was set: its argon2id hash (PHC string).",
  schema: z.object({ userId: id('The user.'), passwordHash: z.string().startsWith('$argon2id$').max(512) }),
});

/**
 * Fields that hold a credential (or what verifies one), by event type: stored as any field
 * is, and covered by the event's hash, but never shown to the audit API, whose readers are
 * otherwise ordinary users: an argon2id hash of a weak password can be cracked offline.
 */
export const CREDENTIAL_FIELDS: Readonly<Record<string, readonly string[]>> = { PasswordSet: ['passwordHash'] };

/** What the audit API shows in place of a credential. */
export const REDACTED = '[redacted]';

export const SignInAttempted = defineEvent({
  type: 'SignInAttempted',
  version: 1,
  category: 'user',
  description: 'Someone tried to sign in as this user, with the outcome.',
  schema: z.object({
    userId: id('The user whose name was given.'),
    succeeded: z.boolean(),
    sessionId: z.uuid().optional().meta({ description: 'The session it started, when it succeeded.' }),
    ip: z.string().max(64).optional().meta({ description: 'Where the attempt came from.' }),
  }),
});

export const SessionStarted = defineEvent({
  type: 'SessionStarted',
  version: 1,
  category: 'session',
  description: 'A user signed in: a session with its first refresh token (as a SHA-256 hash).',
  schema: z.object({
    sessionId: id('The session (the refresh-token family).'),
    userId: id('The user.'),
    refreshTokenHash: z.string().length(64),
    expiresAt: z.iso.datetime(),
    deviceName: z.string().max(64).optional().meta({ description: 'The device, as the client named it at sign-in.' }),
    client: z
      .string()
      .max(200)
      .optional()
      .meta({ description: 'The client app, as given at sign-in, else its User-Agent (cut to 200 characters).' }),
    ip: z.string().max(64).optional().meta({ description: 'Where the sign-in came from.' }),
  }),
});

export const SessionRefreshed = defineEvent({
  type: 'SessionRefreshed',
  version: 1,
  category: 'session',
  description: 'A refresh token was used once and replaced by a new one (rotation).',
  schema: z.object({
    sessionId: id('The session.'),
    refreshTokenHash: z.string().length(64),
    expiresAt: z.iso.datetime(),
    ip: z.string().max(64).optional().meta({ description: 'Where the refresh came from.' }),
  }),
});

export const SessionRevoked = defineEvent({
  type: 'SessionRevoked',
  version: 1,
  category: 'session',
  description:
    'A session ended: signed out (by itself, or by another session of its user), or revoked because an old refresh token was replayed.',
  schema: z.object({
    sessionId: id('The session.'),
    reason: z.enum(['signed_out', 'refresh_token_reused']),
    bySessionId: z
      .uuid()
      .optional()
      .meta({ description: 'The session of the same user that signed this one out (DELETE /me/sessions/:id).' }),
  }),
});
