/**
 * Webhooks (bots): the notification as JSON, POSTed to the device's URL, signed with
 * HMAC-SHA256 under WEBHOOK_SECRET: `Herald-Signature: t=<unix seconds>,v1=<hex HMAC of
 * "<t>.<body>">` (README "Notifications" says how to check it). `Idempotency-Key` carries
 * the notification's id: a receiver that saw it already answers 2xx and ignores it.
 */
import { createHmac } from 'node:crypto';
import { isRetryStatus, retryAfterMs, type Notification, type Outcome, type PushAdapter } from '../gateway.js';
import type { Target } from '../targets.js';
import { RequestFailed, type SafeHttp } from './http.js';

export const SIGNATURE_HEADER = 'herald-signature';

/** The signature header's value for a body sent at `unixSeconds`. */
export function webhookSignature(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export class WebhookAdapter implements PushAdapter {
  readonly kind = 'webhook';

  constructor(
    private readonly secret: string,
    private readonly http: SafeHttp,
    private readonly now: () => number = Date.now,
  ) {}

  async send(target: Target, notification: Notification): Promise<Outcome> {
    if (target.kind !== 'webhook') return { kind: 'drop', reason: `not a webhook target: ${target.kind}` };
    const body = JSON.stringify(notification);
    try {
      const answer = await this.http.post(
        target.url,
        {
          'content-type': 'application/json',
          'idempotency-key': notification.id,
          [SIGNATURE_HEADER]: webhookSignature(this.secret, Math.floor(this.now() / 1000), body),
          'User-Agent': 'Herald-Notifier/1',
        },
        body,
      );
      return outcomeOf(answer.status, answer.headers['retry-after']);
    } catch (error) {
      if (error instanceof RequestFailed && error.refused) return { kind: 'unregister', reason: error.message };
      return { kind: 'retry', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  close(): Promise<void> {
    this.http.close();
    return Promise.resolve();
  }
}

/** 2xx delivered; 410 Gone: the bot is gone; 408, 429, 5xx later; any other refusal drops the notification. */
function outcomeOf(status: number, retryAfter: string | string[] | undefined): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'unregister', reason: 'webhook answered 410 Gone' };
  if (isRetryStatus(status)) {
    const afterMs = retryAfterMs(retryAfter);
    return { kind: 'retry', reason: `webhook answered ${status}`, ...(afterMs !== undefined ? { afterMs } : {}) };
  }
  return { kind: 'drop', reason: `webhook answered ${status}` };
}
