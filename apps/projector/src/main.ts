/**
 * The read models as their own deployable, for the scaled deployment
 * (`node dist/apps/projector/src/main.js`): follows the event store in PostgreSQL
 * (DATABASE_URL) and applies every read model (membership, timeline, inbox, directory,
 * search), each batch in one transaction with its checkpoint. The API then runs with
 * RUN_PROJECTIONS=false and follows the checkpoints stored here.
 *
 * Run two (or more): for each read model one holds its lock and applies, the others stand
 * by and take over when it dies: within a second of a crash or `kill -9` (the server frees
 * the lock of a connection that closed), within PROJECTION_LEASE_MS plus a second when it
 * goes silent without closing its connection (frozen, host lost; ADR 028).
 *
 * On PORT: `GET /health` (the read models' state, checkpoint and lag; 503 when PostgreSQL
 * cannot be reached, `degraded` when one is stopped at a parked event or retrying),
 * `/health/ready`, `/health/live`, `/metrics`. SIGTERM/SIGINT stop it between batches.
 */
import { appConfigFromProcess } from '@herald/config';
import { migrateDatabase } from '@herald/database';
import { openConfiguredEventStore } from '@herald/event-store';
import { JsonLogger } from '@herald/nest';
import { HeraldMetrics, PROBE_TIMEOUT_MS, startOpsServer, within, type HealthAnswer } from '@herald/observability';
import {
  createReadModelDataSource,
  PROJECTION_RUNTIME_MIGRATIONS,
  ProjectionRunner,
  RunnerGroup,
} from '@herald/projection-runtime';
import { READ_MODEL_GATHER_MS, readModelMigrations, readModelProjections } from '@herald/projections';
import type { AddressInfo } from 'node:net';

async function main(): Promise<void> {
  const config = appConfigFromProcess('projector', ['databaseUrl']);
  const logger = new JsonLogger(config.logLevel);
  const log = (level: 'info' | 'warn' | 'error', message: string): void => logger.emit(level, message, 'Projector');
  const timeouts = { queryTimeoutMs: config.databaseQueryTimeoutMs, acquireTimeoutMs: config.databaseAcquireTimeoutMs };
  const metrics = new HeraldMetrics('projector');
  // EVENT_STORE: follows PostgreSQL's log or EventStoreDB's $all; its checkpoints stay in PostgreSQL.
  const store = await openConfiguredEventStore(config, config.databaseUrl, {
    poolSize: 4,
    applicationName: 'herald-projector',
    timeouts,
    onError: (error) => log('warn', `event store connection error: ${error.message}`),
  });
  await migrateDatabase(config.databaseUrl, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
  const dataSource = await createReadModelDataSource({
    url: config.databaseUrl,
    poolSize: config.databasePoolSize,
    timeouts,
  }).initialize();
  const group = new RunnerGroup(
    readModelProjections({ language: config.searchLanguage }).map((projection) => {
      const applied = metrics.projectionApplied(projection.name);
      return new ProjectionRunner(store, dataSource, projection, {
        gatherMs: READ_MODEL_GATHER_MS,
        leaseMs: config.projectionLeaseMs,
        onApplied: (events) => applied.inc(events),
        log,
      });
    }),
  );
  metrics.readProjectionsFrom(() => group.readings());

  const health = async (): Promise<HealthAnswer> => {
    const [database, checkpoint] = await Promise.all([
      within(
        PROBE_TIMEOUT_MS,
        dataSource.query('SELECT 1').then(() => 'up' as const),
        'down' as const,
      ),
      within(PROBE_TIMEOUT_MS, store.headCheckpoint(), null),
    ]);
    // Each runner's state is known here; positions and lags are read from the database,
    // which must not hold the answer if it stopped answering since the probe.
    const projections = database === 'up' ? await within(PROBE_TIMEOUT_MS, group.health(), null) : null;
    const databaseUp = database === 'up' && projections !== null;
    const down = !databaseUp || checkpoint === null;
    const troubled = projections?.some((p) => p.state === 'stopped' || p.state === 'retrying') ?? false;
    const status = down ? 'down' : troubled ? 'degraded' : 'ok';
    return {
      httpStatus: down ? 503 : 200,
      body: {
        status,
        database: { status: databaseUp ? 'up' : 'down' },
        eventStore: { status: checkpoint === null ? 'down' : 'up', checkpoint },
        projections: projections ?? [],
      },
    };
  };
  const server = await startOpsServer({ port: config.port, host: config.host, health, metrics });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    server.close();
    await group.stop();
    await dataSource.destroy();
    await store.close();
    log('info', 'stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  group.start();
  const { port } = server.address() as AddressInfo;
  log('info', `projector: ${group.runners.length} read models; health and metrics on http://${config.host}:${port}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald projector failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
