/**
 * A sign-in session (`session-<id>`): its current refresh token (as a SHA-256 hash), the
 * hashes it had before, and whether it was revoked. Refresh tokens rotate: each is good
 * once. Presenting one that was already used means it leaked (or was stolen and used
 * first): the whole session is revoked, the thief's tokens with it.
 */
import type { EventIn } from '@herald/events';
import { IdentityError } from './errors.js';

export type SessionEvent = EventIn<'session'>;

export interface Session {
  readonly sessionId: string;
  readonly userId: string | null;
  readonly currentHash: string | null;
  readonly usedHashes: ReadonlySet<string>;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
}

export const initialSession = (sessionId: string): Session => ({
  sessionId,
  userId: null,
  currentHash: null,
  usedHashes: new Set(),
  expiresAt: null,
  revoked: false,
});

export function evolveSession(state: Session, event: SessionEvent): Session {
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
  readonly nextHash: string;
  readonly now: string;
  readonly expiresAt: string;
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
        data: { sessionId: state.sessionId, refreshTokenHash: command.nextHash, expiresAt: command.expiresAt },
      },
    ],
  };
}

export function signOut(state: Session): SessionEvent[] {
  if (!state.userId || state.revoked) return [];
  return [{ type: 'SessionRevoked', data: { sessionId: state.sessionId, reason: 'signed_out' } }];
}
