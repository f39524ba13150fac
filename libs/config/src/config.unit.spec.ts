import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('has documented defaults', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '127.0.0.1',
      metricsPort: undefined,
      databaseUrl: undefined,
      dataDir: './.herald',
      embeddedPostgresPort: 54329,
      logLevel: 'info',
      databasePoolSize: 20,
      databaseConnectTimeoutMs: 30_000,
      databaseQueryTimeoutMs: 3_000,
      databaseAcquireTimeoutMs: 3_000,
      eventStorePollIntervalMs: 250,
      eventStore: { kind: 'postgres' },
      sealIntervalMs: 10_000,
      kafka: undefined,
      jwtSecret: undefined,
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 2_592_000,
      rateLimitUserPerSecond: 20,
      rateLimitIpPerSecond: 50,
      rateLimitSignInPerMinute: 10,
      rateLimitSearchPerSecond: 5,
      searchLanguage: 'english',
      trustedProxies: [],
      wsAllowedOrigins: [],
      wsHeartbeatMs: 30_000,
      presenceHeartbeatMs: 10_000,
      notifications: {
        collapseSeconds: 10,
        maxAttempts: 10,
        retryInitialMs: 1_000,
        allowedHosts: [],
        webhook: undefined,
        webPush: undefined,
        fcm: undefined,
        apns: undefined,
      },
      runProjections: true,
      projectionLeaseMs: 5_000,
      tracing: undefined,
    });
  });

  it('selects the event store: PostgreSQL by default, EventStoreDB with EVENT_STORE=eventstoredb and EVENTSTORE_URL', () => {
    expect(loadConfig({ EVENTSTORE_URL: 'esdb://es:2113?tls=false' }).eventStore).toEqual({ kind: 'postgres' });
    expect(loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://es:2113?tls=false' }).eventStore).toEqual({
      kind: 'eventstoredb',
      url: 'esdb://es:2113?tls=false',
    });
    expect(
      loadConfig({ EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb+discover://a:2113,b:2113' }).eventStore,
    ).toMatchObject({ kind: 'eventstoredb' });
    expect(() => loadConfig({ EVENT_STORE: 'eventstoredb' })).toThrow(
      /EVENTSTORE_URL: required with EVENT_STORE=eventstoredb/,
    );
    expect(() => loadConfig({ EVENT_STORE: 'mongodb' })).toThrow(/EVENT_STORE/);
    // A connection string may carry a password: named, never echoed.
    const error = (() => {
      try {
        loadConfig({ EVENTSTORE_URL: 'http://admin:changeit@es:2113' });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error?.message).toMatch(/EVENTSTORE_URL: must be an esdb/);
    expect(error?.message).not.toMatch(/changeit/);
  });

  it('lists every variable it reads', () => {
    expect(CONFIG_VARIABLES).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'EVENT_STORE', 'EVENTSTORE_URL', 'KAFKA_BROKERS']),
    );
  });

  it('turns notification adapters on with their credentials, all of them or none, never echoing a secret', () => {
    const config = loadConfig({
      WEBHOOK_SECRET: 'w'.repeat(32),
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1:4000, Localhost:5000',
      APNS_KEY: '-----BEGIN PRIVATE KEY-----\\nabc\\n-----END PRIVATE KEY-----',
      APNS_KEY_ID: 'ABCDEFGHIJ',
      APNS_TEAM_ID: 'KLMNOPQRST',
      APNS_TOPIC: 'org.example.app',
    }).notifications;
    expect(config.webhook).toEqual({ secret: 'w'.repeat(32) });
    expect(config.allowedHosts).toEqual(['127.0.0.1:4000', 'localhost:5000']);
    expect(config.apns?.key).toBe('-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----');
    expect(config.apns?.url).toBe('https://api.push.apple.com');
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: 'B'.repeat(87) })).toThrow(
      /VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT go together/,
    );
    expect(() => loadConfig({ WEBHOOK_SECRET: 'short secret' })).toThrow(
      /WEBHOOK_SECRET: must have at least 32 characters$/m,
    );
    expect(() => loadConfig({ FCM_SERVICE_ACCOUNT_JSON: '{"private_key":"x"' })).toThrow(
      /FCM_SERVICE_ACCOUNT_JSON: must be/,
    );
  });

  it('TRUST_PROXY takes addresses and CIDR ranges; METRICS_PORT a port', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.0.2.1,fd00::/8' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '192.0.2.1',
      'fd00::/8',
    ]);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '*']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ METRICS_PORT: '3000' })).toThrow(/METRICS_PORT: must differ from PORT/);
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
    expect(() => loadConfig({ SEAL_INTERVAL_MS: '50' })).toThrow('SEAL_INTERVAL_MS');
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
