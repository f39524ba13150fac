/** Broken rules of identity, with stable codes the HTTP edge maps to statuses. */
export type IdentityErrorCode =
  | 'AUTH.INVALID_CREDENTIALS'
  | 'AUTH.SESSION_EXPIRED'
  | 'AUTH.SESSION_REVOKED'
  | 'AUTH.REFRESH_TOKEN_REUSED'
  | 'AUTH.INVALID_TOKEN'
  | 'SESSION.NOT_FOUND'
  | 'USER.USERNAME_TAKEN'
  | 'USER.NOT_FOUND'
  | 'USER.INVALID';

export class IdentityError extends Error {
  constructor(
    readonly code: IdentityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'IdentityError';
  }
}
