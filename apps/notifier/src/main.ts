/**
 * The notifier as its own deployable, for the scaled setup (and for the tests that kill it):
 * follows the event store in PostgreSQL (DATABASE_URL) and sends offline notifications
 * through the adapters its configuration enables. Run as many as you like: one is active
 * (the notifier's advisory lock), the others wait to take over; the API runs the same
 * notifier in process, and competes for the same lock. Who is online it reads from the API
 * nodes' presence tables in the same database. `GET /health` on PORT answers 200 while it
 * runs or stands by, 503 while it retries or is stopped at a parked event.
 */
import { NOTIFICATION_AUDIENCE } from '@herald/projections';
import { appConfigFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { openConfiguredEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { NOTIFICATION_MIGRATIONS, Notifier, onlineOnAnyNode } from '@herald/notifications';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS } from '@herald/projection-runtime';
import { createServer } from 'node:http';

async function main(): Promise<void> {
  const config = appConfigFromProcess('notifier', ['databaseUrl']);
  const logger = new JsonLogger(config.logLevel);
  const log = (level: 'info' | 'warn' | 'error', message: string): void => logger.emit(level, message, 'Notifier');
  // EVENT_STORE: follows PostgreSQL's log or EventStoreDB's $all; its checkpoints stay in PostgreSQL.
  const store = await openConfiguredEventStore(config, config.databaseUrl, {
    poolSize: 4,
    applicationName: 'herald-notifier',
    onError: (error) => log('warn', `event store connection error: ${error.message}`),
  });
  await migrateDatabase(config.databaseUrl, [...PROJECTION_RUNTIME_MIGRATIONS, ...NOTIFICATION_MIGRATIONS]);
  const dataSource = await createReadModelDataSource({ url: config.databaseUrl, poolSize: 6 }).initialize();
  const notifier = new Notifier({
    store,
    dataSource,
    config: config.notifications,
    audience: NOTIFICATION_AUDIENCE,
    online: (userIds) => onlineOnAnyNode(dataSource, userIds, config.presenceHeartbeatMs),
    log,
  });
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'Only GET /health is served here' } }));
      return;
    }
    const { name, state, checkpoint } = notifier.status();
    const ok = state === 'running' || state === 'standby';
    response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: ok ? 'ok' : 'degraded', notifier: { name, state, checkpoint } }));
  });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    server.close();
    await notifier.stop();
    await dataSource.destroy();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  notifier.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  log('info', `notifier running; health on port ${config.port}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald notifier failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
