/**
 * The notifier in the API process (`npm start`): started with the app, stopped before the
 * connections close. Whom to skip as online it asks the push gateway (this node's sockets,
 * and other nodes' presence rows). Off in tests that run it in a process of its own.
 */
import { NOTIFICATION_AUDIENCE } from '@herald/projections';
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import type { EventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { Devices, Notifier, type DeviceKind } from '@herald/notifications';
import type { ProjectionStatus } from '@herald/projection-runtime';
import { DataSource } from 'typeorm';
import { PushGateway } from '../push/push.gateway.js';
import { CONFIG, EVENT_STORE, NOTIFIER_ENABLED } from '../tokens.js';

@Injectable()
export class NotificationsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  readonly devices: Devices;
  private readonly notifier: Notifier;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    dataSource: DataSource,
    @Inject(CONFIG) private readonly config: HeraldConfig,
    logger: JsonLogger,
    push: PushGateway,
    @Inject(NOTIFIER_ENABLED) private readonly enabled: boolean,
  ) {
    this.devices = new Devices(dataSource);
    this.notifier = new Notifier({
      store,
      dataSource,
      config: config.notifications,
      audience: NOTIFICATION_AUDIENCE,
      online: (userIds) => push.online(userIds),
      log: (level, message) => logger.emit(level, message, 'Notifier'),
    });
  }

  /** The kinds of device this deployment can notify (their adapter is configured). */
  kinds(): DeviceKind[] {
    return [...this.notifier.adapters.keys()];
  }

  /** The VAPID public key browsers subscribe with, when Web Push is on. */
  webPushPublicKey(): string | null {
    return this.config.notifications.webPush?.publicKey ?? null;
  }

  status(): ProjectionStatus | undefined {
    return this.enabled ? this.notifier.status() : undefined;
  }

  onApplicationBootstrap(): void {
    if (this.enabled) this.notifier.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.notifier.stop();
  }
}
