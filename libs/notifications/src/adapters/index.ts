/** The push-gateway adapters a configuration enables. */
import type { NotificationsConfig } from '@herald/config';
import type { PushAdapter } from '../gateway.js';
import type { DeviceKind } from '../targets.js';
import { ApnsAdapter } from './apns.js';
import { FcmAdapter } from './fcm.js';
import { SafeHttp } from './http.js';
import { WebPushAdapter } from './web-push.js';
import { WebhookAdapter } from './webhook.js';

export type NotifierLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The kinds of device a configuration can notify: those whose credentials are set. */
export function enabledKinds(config: NotificationsConfig): DeviceKind[] {
  const kinds: DeviceKind[] = [];
  if (config.webhook) kinds.push('webhook');
  if (config.webPush) kinds.push('webpush');
  if (config.fcm) kinds.push('fcm');
  if (config.apns) kinds.push('apns');
  return kinds;
}

/** The adapters the configuration enables, by device kind (each disabled one said once in the log, not an error). */
export function pushAdapters(config: NotificationsConfig, log: NotifierLog): Map<DeviceKind, PushAdapter> {
  const http = new SafeHttp({ allowedHosts: config.allowedHosts });
  const adapters = new Map<DeviceKind, PushAdapter>();
  if (config.webhook) adapters.set('webhook', new WebhookAdapter(config.webhook.secret, http));
  else log('info', 'notifier: webhook delivery is off (WEBHOOK_SECRET is not set)');
  if (config.webPush) adapters.set('webpush', new WebPushAdapter(config.webPush, http));
  else log('info', 'notifier: Web Push is off (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set)');
  if (config.fcm) adapters.set('fcm', new FcmAdapter(config.fcm, config.fcm.apiUrl));
  else log('info', 'notifier: FCM is off (FCM_SERVICE_ACCOUNT_JSON is not set)');
  if (config.apns) adapters.set('apns', new ApnsAdapter(config.apns, config.apns.url));
  else log('info', 'notifier: APNs is off (APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are not set)');
  return adapters;
}
