/**
 * Runs the sealer in this process (tamper evidence, ADR 030): every SEAL_INTERVAL_MS it
 * seals the newest range of the log. Several processes may run it: one seals at a time.
 * The sealer reads and writes the PostgreSQL event log: with the events in EventStoreDB
 * there is nothing for it to seal, and it does not run (ADR 026, "The hash chain").
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { Sealer } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { CONFIG, DATABASE_URL } from './tokens.js';

@Injectable()
export class SealerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly sealer: Sealer | undefined;

  constructor(@Inject(CONFIG) config: HeraldConfig, @Inject(DATABASE_URL) databaseUrl: string, logger: JsonLogger) {
    if (config.eventStore.kind === 'eventstoredb') return;
    this.sealer = new Sealer({
      connectionString: databaseUrl,
      intervalMs: config.sealIntervalMs,
      timeouts: { queryTimeoutMs: config.databaseQueryTimeoutMs, acquireTimeoutMs: config.databaseAcquireTimeoutMs },
      log: (level, message) => logger.emit(level, message, 'Sealer'),
    });
  }

  onApplicationBootstrap(): void {
    this.sealer?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.sealer?.stop();
  }
}
