/**
 * Access tokens (short-lived JWTs, HS256 pinned, `iss`/`aud`/`exp` checked) and refresh
 * tokens (`<sessionId>.<32 random bytes>`, stored only as a SHA-256 hash).
 */
import { jwtVerify, SignJWT, errors } from 'jose';
import { createHash, createHmac, randomBytes, webcrypto } from 'node:crypto';
import { IdentityError } from './domain/errors.js';

const ISSUER = 'herald';
const AUDIENCE = 'herald-api';
const ALGORITHM = 'HS256';
/** Verified tokens remembered at most (oldest forgotten first). */
const MAX_VERIFIED = 50_000;

export interface AccessClaims {
  readonly userId: string;
  readonly sessionId: string;
}

export class AccessTokens {
  /** Imported once: given raw bytes, jose would import the key again on every sign and verify. */
  private readonly key: Promise<webcrypto.CryptoKey>;
  private readonly verified = new Map<string, { claims: AccessClaims; expiresAtMs: number }>();
  /** Derives each refresh token's successor; a key of its own, so it signs nothing else. */
  private readonly rotationKey: Buffer;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.rotationKey = createHmac('sha256', secret).update('herald refresh-token rotation').digest();
  }

  /**
   * The token a refresh token rotates to: an HMAC of it under the server's secret, so the
   * same token presented twice (concurrent refreshes of one client) gets the same successor,
   * while someone who saw an old token cannot compute the next one.
   */
  nextRefreshToken(presented: string): string {
    const sessionId = sessionOf(presented);
    if (!sessionId) throw new IdentityError('AUTH.INVALID_TOKEN', 'Unknown refresh token');
    return `${sessionId}.${createHmac('sha256', this.rotationKey).update(presented).digest('base64url')}`;
  }

  async issue(claims: AccessClaims, now: Date): Promise<string> {
    const iat = Math.floor(now.getTime() / 1000);
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlSeconds)
      .sign(await this.key);
  }

  /**
   * The claims of a valid, unexpired token. A client presents the same token on every
   * request for its lifetime: a verified token's claims are kept (by its SHA-256, never the
   * token itself) until it expires, so the signature is checked once per token, not per request.
   */
  async verify(token: string): Promise<AccessClaims> {
    const key = hashToken(token);
    const known = this.verified.get(key);
    if (known && Date.now() < known.expiresAtMs) return known.claims;
    const { claims, expiresAtMs } = await this.check(token);
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, { claims, expiresAtMs });
    return claims;
  }

  private async check(token: string): Promise<{ claims: AccessClaims; expiresAtMs: number }> {
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: [ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['exp', 'sub', 'sid'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new Error('claims');
      return { claims: { userId: payload.sub, sessionId: payload.sid }, expiresAtMs: payload.exp! * 1000 };
    } catch (error) {
      const expired = error instanceof errors.JWTExpired;
      throw new IdentityError(
        expired ? 'AUTH.SESSION_EXPIRED' : 'AUTH.INVALID_TOKEN',
        expired ? 'The access token has expired: refresh it' : 'Invalid access token',
      );
    }
  }
}

export const newRefreshToken = (sessionId: string): string => `${sessionId}.${randomBytes(32).toString('base64url')}`;

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The session a refresh token belongs to, or undefined when it is not one of ours. */
export function sessionOf(refreshToken: string): string | undefined {
  const match = /^([0-9a-f-]{36})\.[A-Za-z0-9_-]{43}$/.exec(refreshToken);
  return match?.[1];
}
