/**
 * Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291),
 * through the maintained `web-push` library: it builds the encrypted request, and Herald
 * sends it with its own SSRF-checked client (an endpoint is a URL a browser, so a user,
 * gave). The push service's `Topic` is the conversation: an undelivered notification of
 * the same conversation is replaced rather than queued behind.
 */
import { createHash } from 'node:crypto';
import webpush from 'web-push';
import {
  alertText,
  isRetryStatus,
  retryAfterMs,
  type Notification,
  type Outcome,
  type PushAdapter,
} from '../gateway.js';
import type { Target } from '../targets.js';
import { RequestFailed, type SafeHttp } from './http.js';

export interface VapidKeys {
  /** Uncompressed P-256 public key, base64url (65 bytes): what browsers subscribe with. */
  readonly publicKey: string;
  readonly privateKey: string;
  /** `mailto:` or `https:` contact of the sender, for the push services. */
  readonly subject: string;
}

/** How long a push service keeps an undelivered notification: a day. */
const TTL_SECONDS = 86_400;

export class WebPushAdapter implements PushAdapter {
  readonly kind = 'webpush';

  constructor(
    private readonly vapid: VapidKeys,
    private readonly http: SafeHttp,
  ) {
    // VAPID keys of the wrong size or subject stop start-up here, so that a failure in `send` is the
    // subscription's (and unregisters it), never the server's configuration.
    webpush.getVapidHeaders('https://push.example.com', vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
  }

  async send(target: Target, notification: Notification): Promise<Outcome> {
    if (target.kind !== 'webpush') return { kind: 'drop', reason: `not a Web Push target: ${target.kind}` };
    let details: ReturnType<typeof webpush.generateRequestDetails>;
    try {
      details = webpush.generateRequestDetails(
        { endpoint: target.endpoint, keys: target.keys },
        JSON.stringify({ ...notification, ...alertText(notification) }),
        {
          vapidDetails: this.vapid,
          TTL: TTL_SECONDS,
          contentEncoding: 'aes128gcm',
          urgency: notification.mentioned ? 'high' : 'normal',
          topic: topicOf(notification.conversationId),
        },
      );
    } catch (error) {
      // Keys that are not a P-256 point: the subscription can never be used.
      return { kind: 'unregister', reason: `subscription unusable: ${(error as Error).message}` };
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(details.headers)) headers[name] = String(value);
    try {
      const answer = await this.http.post(details.endpoint, headers, details.body ?? '');
      return outcomeOf(answer.status, answer.headers['retry-after']);
    } catch (error) {
      if (error instanceof RequestFailed && error.refused) return { kind: 'unregister', reason: error.message };
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** RFC 8030's Topic: at most 32 characters of the URL-safe alphabet. */
export const topicOf = (conversationId: string): string =>
  createHash('sha256').update(conversationId).digest('base64url').slice(0, 32);

/**
 * 201 (or any 2xx): accepted. 404 and 410: the subscription expired or was cancelled;
 * 403: it was made for another VAPID key (it can never be used by this server). 429 and
 * 5xx: later. Anything else (400, 413): this notification is refused as it is.
 */
function outcomeOf(status: number, retryAfter: string | string[] | undefined): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 404 || status === 410 || status === 403) {
    return { kind: 'unregister', reason: `push service answered ${status}` };
  }
  if (isRetryStatus(status)) {
    const afterMs = retryAfterMs(retryAfter);
    return { kind: 'retry', reason: `push service answered ${status}`, ...(afterMs !== undefined ? { afterMs } : {}) };
  }
  return { kind: 'drop', reason: `push service answered ${status}` };
}
