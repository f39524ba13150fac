/**
 * Herald's one typed configuration, read from environment variables and validated at
 * boot. Nothing else in the code base reads process.env: it asks for a HeraldConfig.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** `10.1.2.3`, `10.0.0.0/8`, `fd00::/8`: an address, or one with a prefix length its family allows. */
function isAddressOrRange(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}
const flag = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * PostgreSQL's built-in text search configurations: search.v1 stems message text in one of
 * them besides matching it as written (`simple` stems nothing).
 */
export const SEARCH_LANGUAGES = [
  'simple',
  'arabic',
  'armenian',
  'basque',
  'catalan',
  'danish',
  'dutch',
  'english',
  'finnish',
  'french',
  'german',
  'greek',
  'hindi',
  'hungarian',
  'indonesian',
  'irish',
  'italian',
  'lithuanian',
  'nepali',
  'norwegian',
  'portuguese',
  'romanian',
  'russian',
  'serbian',
  'spanish',
  'swedish',
  'tamil',
  'turkish',
  'yiddish',
] as const;
export type SearchLanguage = (typeof SEARCH_LANGUAGES)[number];

/** Every variable, its default and its meaning; the README's configuration table mirrors this. */
const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  // Unset: /metrics on PORT. Set: only there, so that what routes PORT from outside does not route it.
  METRICS_PORT: port.optional(),
  DATABASE_URL: z
    .string()
    .url()
    .refine((url) => /^postgres(ql)?:\/\//.test(url), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  HERALD_DATA_DIR: z.string().min(1).default('./.herald'),
  EMBEDDED_POSTGRES_PORT: port.default(54329),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  DATABASE_POOL_SIZE: positiveInt.max(500).default(20),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
  DATABASE_QUERY_TIMEOUT_MS: positiveInt.min(100).max(600_000).default(3_000),
  DATABASE_ACQUIRE_TIMEOUT_MS: positiveInt.min(100).max(600_000).default(3_000),
  EVENT_STORE_POLL_INTERVAL_MS: positiveInt.default(250),
  EVENT_STORE: z.enum(['postgres', 'eventstoredb']).default('postgres'),
  EVENTSTORE_URL: z
    .string()
    .regex(/^esdb(\+discover)?:\/\/\S+$/, 'must be an esdb:// or esdb+discover:// connection string')
    .optional(),
  SEAL_INTERVAL_MS: positiveInt.min(100).max(86_400_000).default(10_000),
  JWT_SECRET: z.string().min(32, 'must have at least 32 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt.max(31_536_000).default(2_592_000),
  RATE_LIMIT_USER_PER_SECOND: positiveInt.max(100_000).default(20),
  RATE_LIMIT_IP_PER_SECOND: positiveInt.max(100_000).default(50),
  RATE_LIMIT_SIGN_IN_PER_MINUTE: positiveInt.max(100_000).default(10),
  RATE_LIMIT_SEARCH_PER_SECOND: positiveInt.max(100_000).default(5),
  // Addresses or CIDR ranges (`10.0.0.0/8`) of the proxies in front of the API whose
  // X-Forwarded-For is believed; unset: nobody's, the peer is the client.
  TRUST_PROXY: z
    .string()
    .transform((v) => v.split(',').map((a) => a.trim()))
    .pipe(z.array(z.string().refine(isAddressOrRange, 'an IP address or a CIDR range (10.0.0.0/8)')))
    .optional(),
  WS_ALLOWED_ORIGINS: z
    .string()
    .transform((v) => v.split(',').map((o) => o.trim()))
    .pipe(z.array(z.url()))
    .optional(),
  WS_HEARTBEAT_MS: positiveInt.min(1_000).max(300_000).default(30_000),
  PRESENCE_HEARTBEAT_MS: positiveInt.min(100).max(300_000).default(10_000),
  SEARCH_LANGUAGE: z.enum(SEARCH_LANGUAGES).default('english'),
  // A user id cannot be taken by someone else before its user registers, as a name can.
  HERALD_INITIAL_OPERATOR: z
    .string()
    .regex(
      /^(?:[a-zA-Z0-9_.-]{3,32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/,
      'a user name (3 to 32 of a-z, 0-9, _ . -) or a user id',
    )
    .transform((v) => v.toLowerCase())
    .optional(),
  KAFKA_BROKERS: z
    .string()
    .transform((v) => v.split(',').map((b) => b.trim()))
    .pipe(z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port[,host:port...]')).min(1))
    .optional(),
  KAFKA_CLIENT_ID: z.string().min(1).max(100).default('herald'),
  KAFKA_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/, 'letters, digits, _ and -, in dot-separated parts')
    .max(100)
    .default('herald'),
  KAFKA_TOPIC_PARTITIONS: positiveInt.max(10_000).default(12),
  KAFKA_REPLICATION_FACTOR: positiveInt.max(100).default(3),
  KAFKA_CREATE_TOPICS: flag.default(true),
  KAFKA_IDEMPOTENT: flag.default(true),
  KAFKA_SSL: flag.default(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  NOTIFY_COLLAPSE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(10),
  NOTIFY_MAX_ATTEMPTS: positiveInt.max(100).default(10),
  NOTIFY_RETRY_INITIAL_MS: positiveInt.min(10).max(600_000).default(1_000),
  WEBHOOK_SECRET: z.string().min(32, 'must have at least 32 characters').optional(),
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()))
    .pipe(z.array(z.string().regex(/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/, 'must be host:port[,host:port...]')))
    .optional(),
  VAPID_PUBLIC_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{86,88}$/, 'a P-256 public key, base64url')
    .optional(),
  VAPID_PRIVATE_KEY: z
    .string()
    .regex(/^[A-Za-z0-9_-]{42,44}$/, 'a P-256 private key, base64url')
    .optional(),
  VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/, 'a mailto: or https: URL')
    .optional(),
  FCM_SERVICE_ACCOUNT_JSON: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be the service account key as JSON' });
        return z.NEVER;
      }
    })
    .pipe(
      z.looseObject({
        project_id: z.string().min(1),
        client_email: z.string().min(1),
        private_key: z.string().includes('PRIVATE KEY'),
        token_uri: z.url().default('https://oauth2.googleapis.com/token'),
      }),
    )
    .optional(),
  FCM_API_URL: z.url().default('https://fcm.googleapis.com'),
  APNS_KEY: z
    .string()
    .transform((v) => v.replaceAll('\\n', '\n'))
    .pipe(z.string().includes('PRIVATE KEY', { message: 'must be the .p8 key (PEM)' }))
    .optional(),
  APNS_KEY_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, 'the 10-character key id')
    .optional(),
  APNS_TEAM_ID: z
    .string()
    .regex(/^[A-Z0-9]{10}$/, 'the 10-character team id')
    .optional(),
  APNS_TOPIC: z.string().min(1).max(255).optional(),
  APNS_URL: z.url().default('https://api.push.apple.com'),
  RUN_PROJECTIONS: flag.default(true),
  PROJECTION_LEASE_MS: positiveInt.min(1_000).max(600_000).default(5_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'must be an http:// or https:// URL')
    .optional(),
  OTEL_SERVICE_NAME: z
    .string()
    .regex(/^[\w.-]{1,100}$/, 'letters, digits, _, . and -')
    .optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
});

const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'EVENTSTORE_URL',
  'KAFKA_SASL_PASSWORD',
  'JWT_SECRET',
  'WEBHOOK_SECRET',
  'VAPID_PRIVATE_KEY',
  'FCM_SERVICE_ACCOUNT_JSON',
  'APNS_KEY',
]);

/** Variables that go together: all set, or none. */
const TOGETHER: readonly (readonly string[])[] = [
  ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'],
  ['VAPID_PUBLIC_KEY', 'VAPID_PRIVATE_KEY', 'VAPID_SUBJECT'],
  ['APNS_KEY', 'APNS_KEY_ID', 'APNS_TEAM_ID', 'APNS_TOPIC'],
];

/**
 * Every environment variable Herald reads: deploy/'s tests check that each one a manifest
 * or the compose file sets is one of these.
 */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

/** Where the Kafka relay produces; absent when KAFKA_BROKERS is unset (no relay). */
export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly topicPrefix: string;
  /** For topics the relay creates; existing topics are left as they are. */
  readonly topicPartitions: number;
  readonly replicationFactor: number;
  /** Off only for brokers that cannot (librdkafka's mock cluster in tests). */
  readonly createTopics: boolean;
  readonly idempotent: boolean;
  readonly ssl: boolean;
  readonly sasl?: {
    readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
    readonly username: string;
    readonly password: string;
  };
}

/**
 * Where the events are kept. PostgreSQL: the embedded server or DATABASE_URL, the same
 * database as the read models. EventStoreDB / KurrentDB: EVENTSTORE_URL; the read models and
 * projection checkpoints stay in PostgreSQL (DATABASE_URL, or the embedded server).
 */
export type EventStoreConfig = { readonly kind: 'postgres' } | { readonly kind: 'eventstoredb'; readonly url: string };

/**
 * Offline notifications (libs/notifications). An adapter whose credentials are not set is
 * off: the notifier says so in the log and refuses devices of that kind.
 */
export interface NotificationsConfig {
  /** At most one notification per device and conversation in this many seconds; the rest are sent collapsed. */
  readonly collapseSeconds: number;
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  /** `host:port`s webhooks and Web Push endpoints may use over plain http: and on non-public addresses. */
  readonly allowedHosts: readonly string[];
  readonly webhook: { readonly secret: string } | undefined;
  readonly webPush: { readonly publicKey: string; readonly privateKey: string; readonly subject: string } | undefined;
  readonly fcm:
    | {
        readonly projectId: string;
        readonly clientEmail: string;
        readonly privateKey: string;
        readonly tokenUri: string;
        readonly apiUrl: string;
      }
    | undefined;
  readonly apns:
    | {
        readonly key: string;
        readonly keyId: string;
        readonly teamId: string;
        readonly topic: string;
        readonly url: string;
      }
    | undefined;
}

/** Where traces go; absent when OTEL_EXPORTER_OTLP_ENDPOINT is unset (no tracing). */
export interface TracingConfig {
  /** The OTLP/HTTP endpoint's base URL; spans are posted to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  /** `service.name` of the spans; unset: the app's own (`herald-api`, `herald-projector`, `herald-relay`). */
  readonly serviceName: string | undefined;
  /** Share of new traces recorded (0 to 1); a request that comes with a sampled `traceparent` is always recorded. */
  readonly sampleRatio: number;
}

export interface HeraldConfig {
  readonly port: number;
  readonly host: string;
  /** Where the API serves /metrics instead of `port` (on `host`); undefined: on `port`. METRICS_PORT. */
  readonly metricsPort: number | undefined;
  /** Unset: Herald starts an embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Preferred port of the embedded PostgreSQL; another free one is used when it is taken. */
  readonly embeddedPostgresPort: number;
  readonly logLevel: LogLevel;
  readonly databasePoolSize: number;
  readonly databaseConnectTimeoutMs: number;
  /**
   * A statement without an answer after this fails (the request answers 503) and its
   * connection is dropped: a paused or stalled server does not hold requests for as long
   * as it is stalled. Applies to the serving pools, not to migrations.
   */
  readonly databaseQueryTimeoutMs: number;
  /** Waiting for a database connection (a new one, or a free one of a full pool) fails after this (503). */
  readonly databaseAcquireTimeoutMs: number;
  readonly eventStorePollIntervalMs: number;
  readonly eventStore: EventStoreConfig;
  /**
   * How often the sealer seals the newest range of the log (tamper evidence, ADR 030): an
   * event is covered by a seal, and can be proven in one, at most about this long after it
   * was written.
   */
  readonly sealIntervalMs: number;
  readonly kafka: KafkaConfig | undefined;
  /**
   * Signs access tokens (HS256). Unset: the embedded default keeps a generated one in the
   * data directory; a deployment with several API instances must set the same on each.
   */
  readonly jwtSecret: string | undefined;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  /** Requests per second per signed-in user (bursts of 3 s worth). */
  readonly rateLimitUserPerSecond: number;
  /** Requests per second per client IP address (bursts of 3 s worth). */
  readonly rateLimitIpPerSecond: number;
  /** Sign-ups and sign-ins per minute per client IP address (against password guessing). */
  readonly rateLimitSignInPerMinute: number;
  /** Searches per user and second (GET /search), bursts of twice that; besides the user's request budget. */
  readonly rateLimitSearchPerSecond: number;
  /** The language search.v1 stems in (SEARCH_LANGUAGE). */
  readonly searchLanguage: SearchLanguage;
  /**
   * The proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client: rate limits,
   * the security log and sessions see that client, not the proxy. Empty: the peer is the client. TRUST_PROXY.
   */
  readonly trustedProxies: readonly string[];
  /** Browser origins allowed to open the WebSocket; a connection without an Origin (not a browser) is always allowed. */
  readonly wsAllowedOrigins: readonly string[];
  readonly wsHeartbeatMs: number;
  /**
   * How often an API node tells the others it is alive; one silent for three intervals is
   * dead and its users offline. The same on every node.
   */
  readonly presenceHeartbeatMs: number;
  /**
   * A user name granted the operator role at start, once it is registered (idempotent: a
   * grant is written only when they do not hold it). HERALD_INITIAL_OPERATOR.
   */
  readonly initialOperator: string | undefined;
  readonly notifications: NotificationsConfig;
  /**
   * Whether this API process applies the read models (and runs the relay when KAFKA_BROKERS
   * is set). False when `apps/projector` (and `apps/relay`) run them: the API then follows
   * their checkpoints in PostgreSQL, for `?after=`, authorization freshness and /health.
   */
  readonly runProjections: boolean;
  /**
   * How long the active projector's (or relay's) lock outlives a process that stopped
   * answering without closing its connection (frozen, its host gone, its network cut): the
   * server ends its session after this much silence, and a standby takes over.
   */
  readonly projectionLeaseMs: number;
  readonly tracing: TracingConfig | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws a ConfigError naming every wrong variable. */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): HeraldConfig {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema
    .superRefine((c, ctx) => {
      if (c.EVENT_STORE === 'eventstoredb' && c.EVENTSTORE_URL === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['EVENTSTORE_URL'],
          message: 'required with EVENT_STORE=eventstoredb (esdb://host:2113?tls=false)',
        });
      }
      if (c.METRICS_PORT !== undefined && c.METRICS_PORT !== 0 && c.METRICS_PORT === c.PORT) {
        ctx.addIssue({
          code: 'custom',
          path: ['METRICS_PORT'],
          message: 'must differ from PORT (unset: /metrics on PORT)',
        });
      }
      for (const names of TOGETHER) {
        const values = names.map((name) => c[name as keyof typeof c]);
        if (values.some((v) => v !== undefined) && values.some((v) => v === undefined)) {
          ctx.addIssue({
            code: 'custom',
            path: [names[0]!],
            message: `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!} go together`,
          });
        }
      }
    })
    .safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        // Connection strings carry passwords: name the variable, never echo its value.
        const got = SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(present[name] ?? null)})`;
        return `${name}: ${issue.message}${got}`;
      }),
    );
  }
  const c = parsed.data;
  return {
    port: c.PORT,
    host: c.HOST,
    metricsPort: c.METRICS_PORT,
    databaseUrl: c.DATABASE_URL,
    dataDir: c.HERALD_DATA_DIR,
    embeddedPostgresPort: c.EMBEDDED_POSTGRES_PORT,
    logLevel: c.LOG_LEVEL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: c.DATABASE_CONNECT_TIMEOUT_MS,
    databaseQueryTimeoutMs: c.DATABASE_QUERY_TIMEOUT_MS,
    databaseAcquireTimeoutMs: c.DATABASE_ACQUIRE_TIMEOUT_MS,
    eventStorePollIntervalMs: c.EVENT_STORE_POLL_INTERVAL_MS,
    eventStore:
      c.EVENT_STORE === 'eventstoredb' && c.EVENTSTORE_URL !== undefined
        ? { kind: 'eventstoredb', url: c.EVENTSTORE_URL }
        : { kind: 'postgres' },
    sealIntervalMs: c.SEAL_INTERVAL_MS,
    jwtSecret: c.JWT_SECRET,
    accessTokenTtlSeconds: c.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: c.REFRESH_TOKEN_TTL_SECONDS,
    rateLimitUserPerSecond: c.RATE_LIMIT_USER_PER_SECOND,
    rateLimitIpPerSecond: c.RATE_LIMIT_IP_PER_SECOND,
    rateLimitSignInPerMinute: c.RATE_LIMIT_SIGN_IN_PER_MINUTE,
    rateLimitSearchPerSecond: c.RATE_LIMIT_SEARCH_PER_SECOND,
    searchLanguage: c.SEARCH_LANGUAGE,
    trustedProxies: c.TRUST_PROXY ?? [],
    wsAllowedOrigins: c.WS_ALLOWED_ORIGINS ?? [],
    wsHeartbeatMs: c.WS_HEARTBEAT_MS,
    presenceHeartbeatMs: c.PRESENCE_HEARTBEAT_MS,
    initialOperator: c.HERALD_INITIAL_OPERATOR,
    notifications: {
      collapseSeconds: c.NOTIFY_COLLAPSE_SECONDS,
      maxAttempts: c.NOTIFY_MAX_ATTEMPTS,
      retryInitialMs: c.NOTIFY_RETRY_INITIAL_MS,
      allowedHosts: c.WEBHOOK_ALLOWED_HOSTS ?? [],
      webhook: c.WEBHOOK_SECRET ? { secret: c.WEBHOOK_SECRET } : undefined,
      webPush:
        c.VAPID_PUBLIC_KEY && c.VAPID_PRIVATE_KEY && c.VAPID_SUBJECT
          ? { publicKey: c.VAPID_PUBLIC_KEY, privateKey: c.VAPID_PRIVATE_KEY, subject: c.VAPID_SUBJECT }
          : undefined,
      fcm: c.FCM_SERVICE_ACCOUNT_JSON
        ? {
            projectId: c.FCM_SERVICE_ACCOUNT_JSON.project_id,
            clientEmail: c.FCM_SERVICE_ACCOUNT_JSON.client_email,
            privateKey: c.FCM_SERVICE_ACCOUNT_JSON.private_key,
            tokenUri: c.FCM_SERVICE_ACCOUNT_JSON.token_uri,
            apiUrl: c.FCM_API_URL.replace(/\/+$/, ''),
          }
        : undefined,
      apns:
        c.APNS_KEY && c.APNS_KEY_ID && c.APNS_TEAM_ID && c.APNS_TOPIC
          ? { key: c.APNS_KEY, keyId: c.APNS_KEY_ID, teamId: c.APNS_TEAM_ID, topic: c.APNS_TOPIC, url: c.APNS_URL }
          : undefined,
    },
    runProjections: c.RUN_PROJECTIONS,
    projectionLeaseMs: c.PROJECTION_LEASE_MS,
    tracing: c.OTEL_EXPORTER_OTLP_ENDPOINT
      ? {
          endpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, ''),
          serviceName: c.OTEL_SERVICE_NAME,
          sampleRatio: c.OTEL_TRACES_SAMPLER_ARG,
        }
      : undefined,
    kafka: c.KAFKA_BROKERS
      ? {
          brokers: c.KAFKA_BROKERS,
          clientId: c.KAFKA_CLIENT_ID,
          topicPrefix: c.KAFKA_TOPIC_PREFIX,
          topicPartitions: c.KAFKA_TOPIC_PARTITIONS,
          replicationFactor: c.KAFKA_REPLICATION_FACTOR,
          createTopics: c.KAFKA_CREATE_TOPICS,
          idempotent: c.KAFKA_IDEMPOTENT,
          ssl: c.KAFKA_SSL,
          ...(c.KAFKA_SASL_MECHANISM && c.KAFKA_SASL_USERNAME && c.KAFKA_SASL_PASSWORD
            ? {
                sasl: {
                  mechanism: c.KAFKA_SASL_MECHANISM,
                  username: c.KAFKA_SASL_USERNAME,
                  password: c.KAFKA_SASL_PASSWORD,
                },
              }
            : {}),
        }
      : undefined,
  };
}

/** The one place that reads the process environment. */
export const configFromProcess = (): HeraldConfig => loadConfig(process.env);

/**
 * The configuration of one of the scaled setup's apps (`app` names it in the message), with
 * the variables it cannot run without: a wrong or missing one is said on stderr and the
 * process exits 2, as a command-line usage error.
 */
export function appConfigFromProcess<Need extends 'databaseUrl' | 'kafka'>(
  app: string,
  needs: readonly Need[],
): HeraldConfig & { [K in Need]-?: NonNullable<HeraldConfig[K]> } {
  try {
    const config = configFromProcess();
    const names = { databaseUrl: 'DATABASE_URL', kafka: 'KAFKA_BROKERS' } as const;
    const missing = needs.filter((need) => config[need] === undefined);
    if (missing.length > 0) throw new ConfigError(missing.map((need) => `${names[need]}: required by the ${app}`));
    return config as HeraldConfig & { [K in Need]-?: NonNullable<HeraldConfig[K]> };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}
