/**
 * Herald's one typed configuration, read from environment variables and validated at
 * boot. Nothing else in the code base reads process.env: it asks for a HeraldConfig.
 */
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every variable, its default and its meaning; the README's configuration table mirrors this. */
const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
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
  EVENT_STORE_POLL_INTERVAL_MS: positiveInt.default(250),
});

const SECRET_VARIABLES = new Set(['DATABASE_URL']);

export interface HeraldConfig {
  readonly port: number;
  readonly host: string;
  /** Unset: Herald starts an embedded PostgreSQL under `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Preferred port of the embedded PostgreSQL; another free one is used when it is taken. */
  readonly embeddedPostgresPort: number;
  readonly logLevel: LogLevel;
  readonly databasePoolSize: number;
  readonly databaseConnectTimeoutMs: number;
  readonly eventStorePollIntervalMs: number;
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
  const parsed = schema.safeParse(present);
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
    databaseUrl: c.DATABASE_URL,
    dataDir: c.HERALD_DATA_DIR,
    embeddedPostgresPort: c.EMBEDDED_POSTGRES_PORT,
    logLevel: c.LOG_LEVEL,
    databasePoolSize: c.DATABASE_POOL_SIZE,
    databaseConnectTimeoutMs: c.DATABASE_CONNECT_TIMEOUT_MS,
    eventStorePollIntervalMs: c.EVENT_STORE_POLL_INTERVAL_MS,
  };
}

/** The one place that reads the process environment. */
export const configFromProcess = (): HeraldConfig => loadConfig(process.env);
