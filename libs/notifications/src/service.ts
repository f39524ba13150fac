/**
 * The notifier as one object an app starts and stops: the adapters its configuration
 * enables (each disabled one said once in the log, not an error), the projection runner
 * (its own checkpoint, one active instance), and the dispatcher, which sends only while
 * this instance runs the projection. The API runs it in process (`npm start`); the scaled
 * setup may run `apps/notifier` instead or beside (one is active, the others stand by).
 */
import type { NotificationsConfig } from '@herald/config';
import type { EventStore } from '@herald/event-store';
import { ProjectionRunner, type ProjectionStatus } from '@herald/projection-runtime';
import type { DataSource } from 'typeorm';
import { ApnsAdapter } from './adapters/apns.js';
import { FcmAdapter } from './adapters/fcm.js';
import { SafeHttp } from './adapters/http.js';
import { WebPushAdapter } from './adapters/web-push.js';
import { WebhookAdapter } from './adapters/webhook.js';
import { Devices } from './devices.js';
import type { PushAdapter } from './gateway.js';
import { Dispatcher, notifierProjection, type NotifierOptions } from './notifier.js';
import type { DeviceKind } from './targets.js';

export type NotifierLog = (level: 'info' | 'warn' | 'error', message: string) => void;

/** The adapters the configuration enables, by device kind. */
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

export interface NotifierDeps {
  readonly store: EventStore;
  readonly dataSource: DataSource;
  readonly config: NotificationsConfig;
  readonly online: NotifierOptions['online'];
  readonly audience: NotifierOptions['audience'];
  readonly log: NotifierLog;
  /** The adapters to use (tests); by default those the configuration enables. */
  readonly adapters?: Map<DeviceKind, PushAdapter>;
}

export class Notifier {
  readonly runner: ProjectionRunner;
  readonly dispatcher: Dispatcher;
  readonly adapters: ReadonlyMap<DeviceKind, PushAdapter>;

  constructor(deps: NotifierDeps) {
    const { config, log } = deps;
    this.adapters = deps.adapters ?? pushAdapters(config, log);
    this.dispatcher = new Dispatcher({
      db: deps.dataSource,
      devices: new Devices(deps.dataSource),
      adapters: this.adapters,
      active: () => this.runner.status().state === 'running',
      collapseSeconds: config.collapseSeconds,
      maxAttempts: config.maxAttempts,
      retryInitialMs: config.retryInitialMs,
      log,
    });
    this.runner = new ProjectionRunner(
      deps.store,
      deps.dataSource,
      notifierProjection({
        online: deps.online,
        audience: deps.audience,
        collapseSeconds: config.collapseSeconds,
        handOff: this.dispatcher,
      }),
      { log, gatherMs: 10 },
    );
  }

  start(): void {
    this.runner.start();
    this.dispatcher.start();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
    await this.dispatcher.stop();
    for (const adapter of this.adapters.values()) await adapter.close?.();
  }

  status(): ProjectionStatus {
    return this.runner.status();
  }
}
