/**
 * A sign-in session (`session-<id>`): its current refresh token (as a SHA-256 hash), the
 * hashes it had before, and whether it was revoked. Refresh tokens rotate: each is good
 * once. Presenting one that was already used means it leaked (or was stolen and used
 * first): the whole session is revoked, the thief's tokens with it — except within
 * REFRESH_REUSE_GRACE_SECONDS of its own rotation, while nothing rotated after it: then it is
 * the same client asking twice (two tabs, a retry after a lost answer), and it gets the pair
 * the first answer had (the next token is derived from the presented one, so the service
 * can give it again without storing it).
 */
import type { EventIn } from '@herald/events';
import { IdentityError } from './errors.js';

export type SessionEvent = EventIn<'session'>;

/** How long after its rotation a refresh token presented again gets the same new pair. */
export const REFRESH_REUSE_GRACE_SECONDS = 10;

export interface Session {
  readonly sessionId: string;
  readonly userId: string | null;
  readonly currentHash: string | null;
  readonly usedHashes: ReadonlySet<string>;
  /** The token the current one replaced, and when: a repeat of it within the grace is no theft. */
  readonly previousHash: string | null;
  readonly rotatedAt: string | null;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
}

export const initialSession = (sessionId: string): Session => ({
  sessionId,
  userId: null,
  currentHash: null,
  usedHashes: new Set(),
  previousHash: null,
  rotatedAt: null,
  expiresAt: null,
  revoked: false,
});

export function evolveSession(state: Session, event: SessionEvent, recorded?: { occurredAt: string }): Session {
  switch (event.type) {
    case 'SessionStarted':
      return {
        ...state,
        userId: event.data.userId,
        currentHash: event.data.refreshTokenHash,
        expiresAt: event.data.expiresAt,
      };
    case 'SessionRefreshed':
      return {
        ...state,
        usedHashes: state.currentHash ? new Set(state.usedHashes).add(state.currentHash) : state.usedHashes,
        previousHash: state.currentHash,
        rotatedAt: recorded?.occurredAt ?? null,
        currentHash: event.data.refreshTokenHash,
        expiresAt: event.data.expiresAt,
      };
    case 'SessionRevoked':
      return { ...state, revoked: true };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

export interface Refresh {
  readonly presentedHash: string;
  /** The hash of the token this one rotates to (derived from it: the same on every attempt). */
  readonly nextHash: string;
  readonly now: string;
  readonly expiresAt: string;
  /** Where the refresh came from (the session's last seen place). */
  readonly ip?: string;
}

/**
 * The outcome of presenting a refresh token: the events to append, and the error to answer
 * with when it is refused (a reuse both revokes the session and is refused).
 */
export function refresh(command: Refresh, state: Session): { events: SessionEvent[]; refused?: IdentityError } {
  const invalid = new IdentityError('AUTH.INVALID_TOKEN', 'Unknown refresh token');
  if (!state.userId) return { events: [], refused: invalid };
  if (state.revoked)
    return { events: [], refused: new IdentityError('AUTH.SESSION_REVOKED', 'This session has ended') };
  const repeated =
    command.presentedHash === state.previousHash &&
    command.nextHash === state.currentHash &&
    state.rotatedAt !== null &&
    Date.parse(command.now) - Date.parse(state.rotatedAt) <= REFRESH_REUSE_GRACE_SECONDS * 1000;
  // The rotation it asks for happened moments ago: answer it again, write nothing.
  if (repeated) return { events: [] };
  if (state.usedHashes.has(command.presentedHash)) {
    return {
      events: [{ type: 'SessionRevoked', data: { sessionId: state.sessionId, reason: 'refresh_token_reused' } }],
      refused: new IdentityError(
        'AUTH.REFRESH_TOKEN_REUSED',
        'This refresh token was used before: the session is revoked, sign in again',
      ),
    };
  }
  if (command.presentedHash !== state.currentHash) return { events: [], refused: invalid };
  if (state.expiresAt !== null && command.now >= state.expiresAt) {
    return {
      events: [],
      refused: new IdentityError('AUTH.SESSION_EXPIRED', 'This session has expired: sign in again'),
    };
  }
  return {
    events: [
      {
        type: 'SessionRefreshed',
        data: {
          sessionId: state.sessionId,
          refreshTokenHash: command.nextHash,
          expiresAt: command.expiresAt,
          ...(command.ip !== undefined ? { ip: command.ip } : {}),
        },
      },
    ],
  };
}

export function signOut(state: Session): SessionEvent[] {
  if (!state.userId || state.revoked) return [];
  return [{ type: 'SessionRevoked', data: { sessionId: state.sessionId, reason: 'signed_out' } }];
}

/**
 * A user signs out one of their sessions from another (`DELETE /me/sessions/:id`). A session
 * of someone else, or none, is not found: nobody learns of others' sessions. One that has
 * ended already is left as it is.
 */
export function signOutFrom(state: Session, userId: string, bySessionId: string): SessionEvent[] {
  if (state.userId !== userId) throw new IdentityError('SESSION.NOT_FOUND', 'No such session of yours');
  if (state.revoked) return [];
  return [{ type: 'SessionRevoked', data: { sessionId: state.sessionId, reason: 'signed_out', bySessionId } }];
}
