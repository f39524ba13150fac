/** The push-gateway adapters a configuration enables. */
import type { NotificationsConfig } from '@herald/config';
import type { PushAdapter } from '../gateway.js';
import { DEVICE_KINDS, type DeviceKind } from '../targets.js';
import { ApnsAdapter } from './apns.js';
import { FcmAdapter } from './fcm.js';
import { SafeHttp } from './http.js';
import { WebPushAdapter } from './web-push.js';
import { WebhookAdapter } from './webhook.js';

export type NotifierLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/**
 * Per kind: the configuration's credentials for it (absent: the kind is off), its adapter
 * (built only when they are set), and what the log says once when it is off.
 */
const ADAPTERS: Record<
  DeviceKind,
  {
    readonly credentials: (config: NotificationsConfig) => object | undefined;
    readonly make: (config: NotificationsConfig, http: SafeHttp) => PushAdapter;
    readonly off: string;
  }
> = {
  webhook: {
    credentials: (config) => config.webhook,
    make: (config, http) => new WebhookAdapter(config.webhook!.secret, http),
    off: 'webhook delivery is off (WEBHOOK_SECRET is not set)',
  },
  webpush: {
    credentials: (config) => config.webPush,
    make: (config, http) => new WebPushAdapter(config.webPush!, http),
    off: 'Web Push is off (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT are not set)',
  },
  fcm: {
    credentials: (config) => config.fcm,
    make: (config) => new FcmAdapter(config.fcm!, config.fcm!.apiUrl),
    off: 'FCM is off (FCM_SERVICE_ACCOUNT_JSON is not set)',
  },
  apns: {
    credentials: (config) => config.apns,
    make: (config) => new ApnsAdapter(config.apns!, config.apns!.url),
    off: 'APNs is off (APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID and APNS_TOPIC are not set)',
  },
};

/** The kinds of device a configuration can notify: those whose credentials are set. */
export function enabledKinds(config: NotificationsConfig): DeviceKind[] {
  return DEVICE_KINDS.filter((kind) => ADAPTERS[kind].credentials(config) !== undefined);
}

/** The adapters the configuration enables, by device kind (each disabled one said once in the log, not an error). */
export function pushAdapters(config: NotificationsConfig, log: NotifierLog): Map<DeviceKind, PushAdapter> {
  const http = new SafeHttp({ allowedHosts: config.allowedHosts });
  const enabled = enabledKinds(config);
  for (const kind of DEVICE_KINDS) if (!enabled.includes(kind)) log('info', `notifier: ${ADAPTERS[kind].off}`);
  return new Map(enabled.map((kind) => [kind, ADAPTERS[kind].make(config, http)]));
}
