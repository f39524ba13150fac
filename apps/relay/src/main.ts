/**
 * The Kafka relay as its own deployable, for the scaled deployment: follows the event
 * store (PostgreSQL at DATABASE_URL, or EventStoreDB with EVENT_STORE=eventstoredb), keeps its
 * checkpoint in PostgreSQL (DATABASE_URL) and produces to Kafka (KAFKA_BROKERS). Run as many as
 * you like: one is active, the others wait to take over (as the projector's standbys do:
 * PROJECTION_LEASE_MS). On PORT: `GET /health` answers 200 while the relay runs or stands
 * by, 503 while it retries (Kafka or PostgreSQL down) or is stopped at a parked event;
 * `/health/ready` the same status alone, `/health/live` 200 whenever the process answers,
 * `/metrics`. With OTEL_EXPORTER_OTLP_ENDPOINT set, each record's publish is a span in the
 * trace of the request that caused its event. In the embedded default the API runs the
 * same relay in process.
 */
import { appConfigFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { openConfiguredEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { HeraldMetrics, startOpsServer, startTracing, type HealthAnswer } from '@herald/observability';
import {
  createReadModelDataSource,
  PROJECTION_RUNTIME_MIGRATIONS,
  ProjectionRunner,
  RunnerGroup,
} from '@herald/projection-runtime';
import { kafkaRelay, KafkaJsProducer } from '@herald/relay';
import type { AddressInfo } from 'node:net';

async function main(): Promise<void> {
  const config = appConfigFromProcess('relay', ['databaseUrl', 'kafka']);
  const logger = new JsonLogger(config.logLevel);
  const log = (level: 'info' | 'warn' | 'error', message: string): void => logger.emit(level, message, 'Relay');
  const tracing = startTracing(config.tracing, { serviceName: 'herald-relay' });
  const metrics = new HeraldMetrics('relay');
  // EVENT_STORE: follows PostgreSQL's log or EventStoreDB's $all; its checkpoints stay in PostgreSQL.
  const store = await openConfiguredEventStore(config, config.databaseUrl, {
    poolSize: 4,
    applicationName: 'herald-relay',
    onError: (error) => log('warn', `event store connection error: ${error.message}`),
  });
  await migrateDatabase(config.databaseUrl, PROJECTION_RUNTIME_MIGRATIONS);
  const dataSource = await createReadModelDataSource({ url: config.databaseUrl, poolSize: 4 }).initialize();
  const producer = new KafkaJsProducer(config.kafka, log);
  const relay = kafkaRelay(producer, config.kafka.topicPrefix, { published: (n) => metrics.relayRecords.inc(n) });
  const applied = metrics.projectionApplied(relay.name);
  const runner = new ProjectionRunner(store, dataSource, relay, {
    leaseMs: config.projectionLeaseMs,
    onApplied: (events) => applied.inc(events),
    log,
  });
  const group = new RunnerGroup([runner]);
  metrics.readProjectionsFrom(() => group.readings());
  metrics.readRelayLagFrom(() => group.lagOf(runner));

  const health = async (): Promise<HealthAnswer> => {
    const { name, state, checkpoint } = runner.status();
    const lag = await group.lagOf(runner);
    const ok = state === 'running' || state === 'standby';
    return {
      httpStatus: ok ? 200 : 503,
      body: { status: ok ? 'ok' : 'degraded', relay: { name, state, checkpoint, lag } },
    };
  };

  const server = await startOpsServer({ port: config.port, host: config.host, health, metrics });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    server.close();
    await runner.stop();
    await producer.close();
    await dataSource.destroy();
    await store.close();
    await tracing.shutdown().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  runner.start();
  log(
    'info',
    `relay to ${config.kafka.brokers.join(',')} (prefix ${config.kafka.topicPrefix}); health and metrics on port ${(server.address() as AddressInfo).port}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald relay failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
