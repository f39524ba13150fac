/**
 * The Kafka relay as its own deployable, for the scaled deployment: follows the event
 * store (PostgreSQL at DATABASE_URL, or EventStoreDB with EVENT_STORE=eventstoredb), keeps its
 * checkpoint in PostgreSQL (DATABASE_URL) and produces to Kafka (KAFKA_BROKERS). Run as many as
 * you like: one is active, the others wait to take over. `GET /health` on PORT answers 200
 * while the relay runs or stands by, 503 while it retries (Kafka or PostgreSQL down) or is
 * stopped at a parked event. In the embedded default the API runs the same relay in process.
 */
import { ConfigError, configFromProcess, type HeraldConfig, type KafkaConfig } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { openEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, ProjectionRunner } from '@herald/projection-runtime';
import { kafkaRelay, KafkaJsProducer } from '@herald/relay';
import { createServer } from 'node:http';

function loadConfig(): HeraldConfig & { databaseUrl: string; kafka: KafkaConfig } {
  try {
    const config = configFromProcess();
    const missing = [!config.databaseUrl && 'DATABASE_URL', !config.kafka && 'KAFKA_BROKERS'].filter(Boolean);
    if (missing.length > 0) throw new ConfigError(missing.map((name) => `${String(name)}: required by the relay`));
    return config as HeraldConfig & { databaseUrl: string; kafka: KafkaConfig };
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = new JsonLogger(config.logLevel);
  const log = (level: 'info' | 'warn' | 'error', message: string): void => logger.emit(level, message, 'Relay');
  // EVENT_STORE: follows PostgreSQL's log or EventStoreDB's $all; its checkpoint stays in PostgreSQL.
  const store = await openEventStore(
    config.eventStore.kind === 'eventstoredb'
      ? { kind: 'eventstoredb', connectionString: config.eventStore.url }
      : {
          kind: 'postgres',
          postgres: {
            connectionString: config.databaseUrl,
            poolSize: 4,
            applicationName: 'herald-relay',
            pollIntervalMs: config.eventStorePollIntervalMs,
            onError: (error) => log('warn', `event store connection error: ${error.message}`),
          },
        },
  );
  await migrateDatabase(config.databaseUrl, PROJECTION_RUNTIME_MIGRATIONS);
  const dataSource = await createReadModelDataSource({ url: config.databaseUrl, poolSize: 4 }).initialize();
  const producer = new KafkaJsProducer(config.kafka, log);
  const runner = new ProjectionRunner(store, dataSource, kafkaRelay(producer, config.kafka.topicPrefix), { log });

  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only GET /health is served here' } }));
      return;
    }
    const { name, state, checkpoint } = runner.status();
    void runner
      .lag()
      .catch(() => null)
      .then((lag) => {
        const ok = state === 'running' || state === 'standby';
        response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', relay: { name, state, checkpoint, lag } }));
      });
  });

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
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  runner.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  log(
    'info',
    `relay to ${config.kafka.brokers.join(',')} (prefix ${config.kafka.topicPrefix}); health on port ${config.port}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald relay failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
