/**
 * Apple Push Notification service: HTTP/2 `POST /3/device/<token>` to APNS_URL with token
 * authentication, a JWT signed ES256 with the team's .p8 key (`kid` the key id, `iss` the
 * team), renewed every 50 minutes (Apple accepts one between 20 and 60 minutes old).
 * `apns-collapse-id` is the conversation, `thread-id` groups them on the device.
 */
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { importPKCS8, SignJWT } from 'jose';
import { alertText, retryAfterMs, type Notification, type Outcome, type PushAdapter } from '../gateway.js';
import type { Target } from '../targets.js';

export interface ApnsCredentials {
  /** PEM (PKCS #8) of the .p8 signing key. */
  readonly key: string;
  readonly keyId: string;
  readonly teamId: string;
  /** The app's bundle id (`apns-topic`). */
  readonly topic: string;
}

const TOKEN_LIFETIME_MS = 50 * 60_000;
const TIMEOUT_MS = 10_000;

export class ApnsAdapter implements PushAdapter {
  readonly kind = 'apns';
  private session: ClientHttp2Session | undefined;
  private jwt: { readonly value: string; readonly until: number } | undefined;

  constructor(
    private readonly credentials: ApnsCredentials,
    /** `https://api.push.apple.com` (or the sandbox); a local HTTP/2 stub in tests. */
    private readonly url: string,
    private readonly now: () => number = Date.now,
  ) {}

  async send(target: Target, notification: Notification): Promise<Outcome> {
    if (target.kind !== 'apns') return { kind: 'drop', reason: `not an APNs target: ${target.kind}` };
    let jwt: string;
    try {
      jwt = await this.token();
    } catch (error) {
      return { kind: 'retry', reason: `APNs token: ${(error as Error).message}` };
    }
    const { title, body } = alertText(notification);
    const { preview: _preview, ...ids } = notification;
    const payload = JSON.stringify({
      aps: { alert: { title, ...(body ? { body } : {}) }, 'thread-id': notification.conversationId, sound: 'default' },
      herald: ids,
    });
    let answer: { status: number; body: string; retryAfter: string | undefined };
    try {
      answer = await this.request(`/3/device/${target.token}`, payload, {
        authorization: `bearer ${jwt}`,
        'apns-topic': this.credentials.topic,
        'apns-push-type': 'alert',
        'apns-priority': notification.mentioned ? '10' : '5',
        'apns-expiration': String(Math.floor(this.now() / 1000) + 86_400),
        'apns-collapse-id': notification.conversationId,
      });
    } catch (error) {
      return { kind: 'retry', reason: `APNs: ${(error as Error).message}` };
    }
    return this.outcomeOf(answer.status, reasonOf(answer.body), answer.retryAfter);
  }

  /**
   * Apple's documented answers: 410 Unregistered, 400 BadDeviceToken and
   * DeviceTokenNotForTopic end the device; 403 ExpiredProviderToken / InvalidProviderToken
   * try again with a new token; 429 TooManyRequests, 500 and 503 later; the rest (400
   * PayloadEmpty, 413 PayloadTooLarge, ...) drop this notification.
   */
  private outcomeOf(status: number, reason: string | undefined, retryAfter: string | undefined): Outcome {
    const why = `APNs answered ${status}${reason ? ` ${reason}` : ''}`;
    if (status === 200) return { kind: 'delivered' };
    if (
      status === 410 ||
      reason === 'BadDeviceToken' ||
      reason === 'DeviceTokenNotForTopic' ||
      reason === 'Unregistered'
    ) {
      return { kind: 'unregister', reason: why };
    }
    if (status === 403 && (reason === 'ExpiredProviderToken' || reason === 'InvalidProviderToken')) {
      this.jwt = undefined;
      return { kind: 'retry', reason: why };
    }
    if (status === 429 || status === 500 || status === 503) {
      const afterMs = retryAfterMs(retryAfter);
      return { kind: 'retry', reason: why, ...(afterMs !== undefined ? { afterMs } : {}) };
    }
    return { kind: 'drop', reason: why };
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session && !session.closed) await new Promise<void>((resolve) => session.close(() => resolve()));
  }

  private async token(): Promise<string> {
    if (this.jwt && this.jwt.until > this.now()) return this.jwt.value;
    const key = await importPKCS8(this.credentials.key, 'ES256');
    const value = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: this.credentials.keyId })
      .setIssuer(this.credentials.teamId)
      .setIssuedAt(Math.floor(this.now() / 1000))
      .sign(key);
    this.jwt = { value, until: this.now() + TOKEN_LIFETIME_MS };
    return value;
  }

  private connected(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(this.url);
    session.on('error', () => session.destroy());
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }

  private request(
    path: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
    return new Promise((resolve, reject) => {
      const stream = this.connected().request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: path,
        'content-type': 'application/json',
        ...headers,
      });
      stream.setTimeout(TIMEOUT_MS, () => stream.close(constants.NGHTTP2_CANCEL));
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (h) => {
        status = Number(h[constants.HTTP2_HEADER_STATUS]);
        const value: unknown = h['retry-after'];
        retryAfter = typeof value === 'string' ? value : undefined;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        status === 0
          ? reject(new Error('stream ended without an answer'))
          : resolve({ status, body: Buffer.concat(chunks).toString('utf8'), retryAfter }),
      );
      stream.on('error', reject);
      // Closed without an end (a timeout, the session gone): settled as a failure (no-op once settled).
      stream.on('close', () => reject(new Error('stream closed without an answer')));
      stream.end(body);
    });
  }
}

function reasonOf(text: string): string | undefined {
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined;
  }
}
