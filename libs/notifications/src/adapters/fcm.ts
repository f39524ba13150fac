/**
 * Firebase Cloud Messaging, HTTP v1 API: `POST {FCM_API_URL}/v1/projects/<project>/messages:send`
 * with an OAuth 2.0 access token, obtained from the service account's key (a JWT, RS256,
 * exchanged at its `token_uri`) and kept until a minute before it expires. Data values are
 * strings, as FCM requires; `collapse_key` is the conversation.
 */
import { importPKCS8, SignJWT } from 'jose';
import {
  alertText,
  isRetryStatus,
  retryAfterMs,
  type Notification,
  type Outcome,
  type PushAdapter,
} from '../gateway.js';
import type { Target } from '../targets.js';

export interface FcmServiceAccount {
  readonly projectId: string;
  readonly clientEmail: string;
  /** PEM (PKCS #8) of the service account's RSA key. */
  readonly privateKey: string;
  readonly tokenUri: string;
}

const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const TIMEOUT_MS = 10_000;

export class FcmAdapter implements PushAdapter {
  readonly kind = 'fcm';
  private accessToken: { readonly value: string; readonly until: number } | undefined;
  private fetching: Promise<string> | undefined;

  constructor(
    private readonly account: FcmServiceAccount,
    /** `https://fcm.googleapis.com`; a local stub in tests. */
    private readonly apiUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async send(target: Target, notification: Notification): Promise<Outcome> {
    if (target.kind !== 'fcm') return { kind: 'drop', reason: `not an FCM target: ${target.kind}` };
    let token: string;
    try {
      token = await this.token();
    } catch (error) {
      return { kind: 'retry', reason: `FCM access token: ${(error as Error).message}` };
    }
    const { title, body } = alertText(notification);
    const data: Record<string, string> = {};
    for (const [key, value] of Object.entries(notification)) data[key] = String(value);
    const message = {
      message: {
        token: target.token,
        data,
        notification: { title, ...(body ? { body } : {}) },
        android: { collapse_key: notification.conversationId, priority: notification.mentioned ? 'high' : 'normal' },
      },
    };
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}/v1/projects/${encodeURIComponent(this.account.projectId)}/messages:send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      return { kind: 'retry', reason: `FCM: ${(error as Error).message}` };
    }
    const answer = await response.text().catch(() => '');
    if (response.ok) return { kind: 'delivered' };
    return this.outcomeOf(response.status, fcmErrorCode(answer), response.headers.get('retry-after') ?? undefined);
  }

  /**
   * FCM's documented codes: UNREGISTERED (404) and SENDER_ID_MISMATCH (403) end the device;
   * UNAUTHENTICATED / THIRD_PARTY_AUTH_ERROR (401) try again with a new access token;
   * QUOTA_EXCEEDED (429), UNAVAILABLE (503), INTERNAL (500) later; INVALID_ARGUMENT (400)
   * and the rest drop this notification.
   */
  private outcomeOf(status: number, code: string | undefined, retryAfter: string | undefined): Outcome {
    const reason = `FCM answered ${status}${code ? ` ${code}` : ''}`;
    if (status === 404 || code === 'UNREGISTERED' || code === 'SENDER_ID_MISMATCH')
      return { kind: 'unregister', reason };
    if (status === 401) {
      this.accessToken = undefined;
      return { kind: 'retry', reason };
    }
    if (isRetryStatus(status)) {
      const afterMs = retryAfterMs(retryAfter);
      return { kind: 'retry', reason, ...(afterMs !== undefined ? { afterMs } : {}) };
    }
    return { kind: 'drop', reason };
  }

  private async token(): Promise<string> {
    if (this.accessToken && this.accessToken.until > this.now()) return this.accessToken.value;
    this.fetching ??= this.fetchToken().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  private async fetchToken(): Promise<string> {
    const key = await importPKCS8(this.account.privateKey, 'RS256');
    const issuedAt = Math.floor(this.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(this.account.clientEmail)
      .setAudience(this.account.tokenUri)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 3600)
      .sign(key);
    const response = await fetch(this.account.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`token endpoint answered ${response.status}`);
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('token endpoint answered no access_token');
    const seconds = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    this.accessToken = { value: body.access_token, until: this.now() + Math.max(0, seconds - 60) * 1000 };
    return body.access_token;
  }
}

/** The FcmError code in an error answer's details, else its status string. */
function fcmErrorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as {
      error?: { status?: string; details?: { '@type'?: string; errorCode?: string }[] };
    };
    const detail = body.error?.details?.find((d) => typeof d.errorCode === 'string');
    return detail?.errorCode ?? body.error?.status;
  } catch {
    return undefined;
  }
}
