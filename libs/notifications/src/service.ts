/**
 * The notifier as one object an app starts and stops: the adapters its configuration
 * enables (each disabled one said once in the log, not an error), run in a delivery thread
 * of their own, the projection runner
 * (its own checkpoint, one active instance), and the dispatcher, which sends only while
 * this instance runs the projection. The API runs it in process (`npm start`); the scaled
 * setup may run `apps/notifier` instead or beside (one is active, the others stand by).
 */
import type { NotificationsConfig } from '@herald/config';
import type { EventStore } from '@herald/event-store';
import { ProjectionRunner, type ProjectionStatus } from '@herald/projection-runtime';
import type { DataSource } from 'typeorm';
import { type NotifierLog } from './adapters/index.js';
import { DeliveryThread } from './delivery/delivery-thread-client.js';
import { Devices } from './devices.js';
import type { PushAdapter } from './gateway.js';
import { Dispatcher, notifierProjection, type NotifierOptions } from './notifier.js';
import type { DeviceKind } from './targets.js';

export type { NotifierLog };

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
    this.adapters = deps.adapters ?? new DeliveryThread(config, log).adapters();
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
      // As the read models gather (READ_MODEL_GATHER_MS): fewer, larger transactions at low rates (issue 17).
      { log, gatherMs: 50 },
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
