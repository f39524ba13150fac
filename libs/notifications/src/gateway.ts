/**
 * The push-gateway port: what the notifier needs from a push service. One adapter per kind
 * of device (Web Push, FCM, APNs, webhook); each turns the service's answer into one of
 * four outcomes, so the notifier's retry policy is written once.
 */
import type { DeviceKind, Target } from './targets.js';

/** What a notification says: ids, a count, and a preview only where its user allowed previews. */
export interface Notification {
  /** The idempotency key: the newest event it stands for and the device (`<eventId>:<deviceId>`). */
  readonly id: string;
  readonly type: 'message';
  readonly conversationId: string;
  /** The newest message it stands for. */
  readonly messageId: string;
  readonly seq: number;
  readonly senderId: string;
  /** Messages it stands for: 1, or more when collapsed. */
  readonly count: number;
  /** Whether one of them mentions the device's user. */
  readonly mentioned: boolean;
  /** When the newest was sent (ISO 8601). */
  readonly sentAt: string;
  /** The newest message's first characters, only for users who allowed previews. */
  readonly preview?: string;
}

/**
 * The notification with its fields in one order: a notification sent again (from the
 * outbox's jsonb, which orders keys its own way) is the same bytes as the first time.
 */
export function inFieldOrder(n: Notification): Notification {
  return {
    id: n.id,
    type: n.type,
    conversationId: n.conversationId,
    messageId: n.messageId,
    seq: n.seq,
    senderId: n.senderId,
    count: n.count,
    mentioned: n.mentioned,
    sentAt: n.sentAt,
    ...(n.preview !== undefined ? { preview: n.preview } : {}),
  };
}

export type Outcome =
  | { readonly kind: 'delivered' }
  /** Will pass (the service is down, rate limits, a timeout): try again later, after `afterMs` when it says. */
  | { readonly kind: 'retry'; readonly reason: string; readonly afterMs?: number }
  /** This notification cannot be delivered (refused as it is): drop it, keep the device. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** The device is gone (unsubscribed, uninstalled, token invalid): drop it and the device. */
  | { readonly kind: 'unregister'; readonly reason: string };

export interface PushAdapter {
  readonly kind: DeviceKind;
  send(target: Target, notification: Notification): Promise<Outcome>;
  close?(): Promise<void>;
}

/** A status the push services answer for "later": timeouts, rate limits, server trouble. */
export const isRetryStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

/** `Retry-After` in milliseconds (seconds or an HTTP date), when given and sane. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, 3_600_000) : undefined;
}

/** The text of a notification as a push service shows it: no preview, a neutral text. */
export function alertText(notification: Notification): { title: string; body: string } {
  const many = notification.count > 1 ? `${notification.count} new messages` : 'New message';
  return {
    title: notification.mentioned ? `${many} (mentioned)` : many,
    body: notification.preview ?? '',
  };
}
