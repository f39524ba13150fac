/**
 * A user's stream (`user-<id>`): profile (public events) and credentials (internal
 * events). Folded for sign-in and profile changes; deciders for registering and profiles.
 */
import type { EventIn, SystemRole } from '@herald/events';
import { IdentityError } from './errors.js';

export type UserEvent = EventIn<'user'>;

export interface User {
  readonly userId: string;
  readonly registered: boolean;
  readonly username: string | null;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
  readonly statusText: string | null;
  /** argon2id PHC string; never leaves the identity service. */
  readonly passwordHash: string | null;
  /** Users this one has blocked. */
  readonly blocked: ReadonlySet<string>;
  /** System roles (auditor, operator) held now. */
  readonly systemRoles: ReadonlySet<SystemRole>;
  /** System roles revoked from this user at some time (the configuration's grant does not undo a revocation). */
  readonly revokedSystemRoles: ReadonlySet<SystemRole>;
}

export const initialUser = (userId: string): User => ({
  userId,
  registered: false,
  username: null,
  displayName: null,
  avatarUrl: null,
  statusText: null,
  passwordHash: null,
  blocked: new Set(),
  systemRoles: new Set(),
  revokedSystemRoles: new Set(),
});

export function evolveUser(state: User, event: UserEvent): User {
  switch (event.type) {
    case 'UserRegistered':
      return { ...state, registered: true, username: event.data.username, displayName: event.data.displayName };
    case 'ProfileUpdated':
      return {
        ...state,
        ...(event.data.displayName !== undefined ? { displayName: event.data.displayName } : {}),
        ...(event.data.avatarUrl !== undefined ? { avatarUrl: event.data.avatarUrl } : {}),
        ...(event.data.statusText !== undefined ? { statusText: event.data.statusText } : {}),
      };
    case 'PasswordSet':
      return { ...state, passwordHash: event.data.passwordHash };
    case 'SignInAttempted':
      return state;
    case 'UserBlocked':
      return { ...state, blocked: new Set(state.blocked).add(event.data.blockedUserId) };
    case 'UserUnblocked': {
      const blocked = new Set(state.blocked);
      blocked.delete(event.data.blockedUserId);
      return { ...state, blocked };
    }
    case 'SystemRoleGranted':
      return { ...state, systemRoles: new Set(state.systemRoles).add(event.data.role) };
    case 'SystemRoleRevoked': {
      const systemRoles = new Set(state.systemRoles);
      systemRoles.delete(event.data.role);
      return { ...state, systemRoles, revokedSystemRoles: new Set(state.revokedSystemRoles).add(event.data.role) };
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** User names: 3 to 32 of a-z, 0-9, `_`, `.`, `-`, compared in lower case. */
export const USERNAME = /^[a-z0-9_.-]{3,32}$/;

export interface Register {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly passwordHash: string;
}

/** The events that open a new user's stream, in one append. */
export function register(command: Register, state: User): UserEvent[] {
  if (state.registered) throw new IdentityError('USER.INVALID', 'This user exists already');
  if (!USERNAME.test(command.username)) {
    throw new IdentityError('USER.INVALID', 'A user name has 3 to 32 characters: a-z, 0-9, _ . -');
  }
  return [
    {
      type: 'UserRegistered',
      data: { userId: command.userId, username: command.username, displayName: command.displayName },
    },
    { type: 'PasswordSet', data: { userId: command.userId, passwordHash: command.passwordHash } },
  ];
}

export interface UpdateProfile {
  readonly displayName?: string;
  readonly avatarUrl?: string | null;
  readonly statusText?: string | null;
}

export function updateProfile(command: UpdateProfile, state: User): UserEvent[] {
  if (!state.registered) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  const changed = {
    ...(command.displayName !== undefined && command.displayName !== state.displayName
      ? { displayName: command.displayName }
      : {}),
    ...(command.avatarUrl !== undefined && command.avatarUrl !== state.avatarUrl
      ? { avatarUrl: command.avatarUrl }
      : {}),
    ...(command.statusText !== undefined && command.statusText !== state.statusText
      ? { statusText: command.statusText }
      : {}),
  };
  if (Object.keys(changed).length === 0) return [];
  return [{ type: 'ProfileUpdated', data: { userId: state.userId, ...changed } }];
}

/** Blocking or unblocking another user, with whether they registered (looked up before deciding). */
export interface ChangeBlock {
  readonly blockedUserId: string;
  readonly blockedExists: boolean;
}

export function block({ blockedUserId, blockedExists }: ChangeBlock, state: User): UserEvent[] {
  // A user who does not exist is not found, as for every command naming one.
  if (!blockedExists || !state.registered) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  if (blockedUserId === state.userId) throw new IdentityError('USER.INVALID', 'You cannot block yourself');
  if (state.blocked.has(blockedUserId)) return [];
  return [{ type: 'UserBlocked', data: { userId: state.userId, blockedUserId } }];
}

export function unblock({ blockedUserId, blockedExists }: ChangeBlock, state: User): UserEvent[] {
  if (!blockedExists) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  if (!state.blocked.has(blockedUserId)) return [];
  return [{ type: 'UserUnblocked', data: { userId: state.userId, blockedUserId } }];
}

export interface SignInAttempt {
  readonly userId: string;
  readonly succeeded: boolean;
  /** The session a successful attempt starts. */
  readonly sessionId: string | undefined;
  readonly ip: string | undefined;
}

/** A sign-in attempt, recorded whether it succeeded or not: the security log's source. */
export function signInAttempted({ userId, succeeded, sessionId, ip }: SignInAttempt): UserEvent[] {
  return [
    {
      type: 'SignInAttempted',
      data: { userId, succeeded, ...(sessionId ? { sessionId } : {}), ...(ip ? { ip } : {}) },
    },
  ];
}

/** Granting or revoking a system role; `by` is who does it (recorded in the event). */
export interface ChangeSystemRole {
  readonly role: SystemRole;
  readonly by: string;
}

/** Grants a system role; nothing when the user holds it already (a repeated grant is a no-op). */
export function grantSystemRole({ role, by }: ChangeSystemRole, state: User): UserEvent[] {
  if (!state.registered) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  if (state.systemRoles.has(role)) return [];
  return [{ type: 'SystemRoleGranted', data: { userId: state.userId, role, by } }];
}

/**
 * The configuration's grant (HERALD_INITIAL_OPERATOR), decided at every start: nothing when
 * the user holds the role, and nothing when it was ever revoked from them, so that a
 * revocation holds although the variable still names them (a grant by a person,
 * grantSystemRole, gives it back).
 */
export function grantConfiguredSystemRole({ role, by }: ChangeSystemRole, state: User): UserEvent[] {
  if (state.revokedSystemRoles.has(role)) return [];
  return grantSystemRole({ role, by }, state);
}

/** Revokes a system role; nothing when the user does not hold it. */
export function revokeSystemRole({ role, by }: ChangeSystemRole, state: User): UserEvent[] {
  if (!state.registered) throw new IdentityError('USER.NOT_FOUND', 'No such user');
  if (!state.systemRoles.has(role)) return [];
  return [{ type: 'SystemRoleRevoked', data: { userId: state.userId, role, by } }];
}
