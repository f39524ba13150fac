/** What the notifier and its delivery thread say to each other. */
import type { Notification, Outcome } from '../gateway.js';
import type { Target } from '../targets.js';

export type DeliveryMessage =
  | { readonly send: readonly (readonly [id: number, target: Target, notification: Notification])[] }
  | { readonly close: true };

export type DeliveryReply =
  | { readonly outcomes: readonly (readonly [id: number, outcome: Outcome])[] }
  | { readonly log: readonly ['info' | 'warn' | 'error', string] }
  | { readonly closed: true };
