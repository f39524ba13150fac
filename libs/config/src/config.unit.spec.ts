import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('has documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './.herald',
      embeddedPostgresPort: 54329,
      logLevel: 'info',
      databasePoolSize: 20,
      databaseConnectTimeoutMs: 30_000,
      databaseQueryTimeoutMs: 3_000,
      databaseAcquireTimeoutMs: 3_000,
      eventStorePollIntervalMs: 250,
      kafka: undefined,
      jwtSecret: undefined,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2_592_000,
      rateLimitUserPerSecond: 20,
      rateLimitIpPerSecond: 50,
      rateLimitSignInPerMinute: 10,
      rateLimitSearchPerSecond: 5,
      searchLanguage: 'english',
      wsAllowedOrigins: [],
      wsHeartbeatMs: 30_000,
      presenceHeartbeatMs: 10_000,
      runProjections: true,
      projectionLeaseMs: 5_000,
      tracing: undefined,
    });
  });

  it("RUN_PROJECTIONS turns the API's projections off; PROJECTION_LEASE_MS is bounded", () => {
    expect(loadConfig({ RUN_PROJECTIONS: 'false' }).runProjections).toBe(false);
    expect(loadConfig({ RUN_PROJECTIONS: '1' }).runProjections).toBe(true);
    expect(() => loadConfig({ RUN_PROJECTIONS: 'no' })).toThrow('RUN_PROJECTIONS');
    expect(loadConfig({ PROJECTION_LEASE_MS: '2000' }).projectionLeaseMs).toBe(2_000);
    expect(() => loadConfig({ PROJECTION_LEASE_MS: '500' })).toThrow('PROJECTION_LEASE_MS');
  });

  it('turns tracing on with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      endpoint: 'http://collector:4318',
      serviceName: undefined,
      sampleRatio: 1,
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector',
        OTEL_SERVICE_NAME: 'herald-api-eu',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      }).tracing,
    ).toEqual({ endpoint: 'https://collector', serviceName: 'herald-api-eu', sampleRatio: 0.1 });
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    );
    expect(() => loadConfig({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow('OTEL_TRACES_SAMPLER_ARG');
    // Without an endpoint the other two change nothing.
    expect(loadConfig({ OTEL_SERVICE_NAME: 'x' }).tracing).toBeUndefined();
  });

  it('turns the Kafka relay on with KAFKA_BROKERS, with defaults for real clusters', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9092' }).kafka).toEqual({
      brokers: ['k1:9092', 'k2:9092'],
      clientId: 'herald',
      topicPrefix: 'herald',
      topicPartitions: 12,
      replicationFactor: 3,
      createTopics: true,
      idempotent: true,
      ssl: false,
    });
    const mock = loadConfig({ KAFKA_BROKERS: 'localhost:1', KAFKA_CREATE_TOPICS: 'false', KAFKA_IDEMPOTENT: '0' });
    expect(mock.kafka).toMatchObject({ createTopics: false, idempotent: false });
  });

  it('names wrong Kafka variables and never echoes the SASL password', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'no-port' })).toThrow('KAFKA_BROKERS');
    expect(() => loadConfig({ KAFKA_TOPIC_PREFIX: 'has space' })).toThrow('KAFKA_TOPIC_PREFIX');
    expect(() => loadConfig({ KAFKA_IDEMPOTENT: 'yes' })).toThrow('KAFKA_IDEMPOTENT');
    const sasl = (): unknown =>
      loadConfig({ KAFKA_BROKERS: 'k:1', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(sasl).toThrow('go together');
    expect(sasl).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') as unknown }) as Error,
    );
  });

  it('reads and coerces variables; an empty one counts as unset', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u:p@db:5432/herald',
      LOG_LEVEL: 'debug',
      HERALD_DATA_DIR: '',
    });
    expect(config).toMatchObject({
      port: 8080,
      databaseUrl: 'postgres://u:p@db:5432/herald',
      logLevel: 'debug',
      dataDir: './.herald',
    });
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://x/y'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_QUERY_TIMEOUT_MS', '50'],
    ['DATABASE_QUERY_TIMEOUT_MS', 'soon'],
    ['DATABASE_ACQUIRE_TIMEOUT_MS', '0'],
  ])('a wrong %s=%s stops start-up with a message naming it', (name, value) => {
    const start = (): unknown => loadConfig({ [name]: value });
    expect(start).toThrow(ConfigError);
    expect(start).toThrow(name);
  });

  it('never echoes a DATABASE_URL, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://admin:s3cret@host/db' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') as unknown }) as Error,
    );
  });
});
