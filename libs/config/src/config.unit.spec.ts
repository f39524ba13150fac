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
      eventStorePollIntervalMs: 250,
    });
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
  ])('a wrong %s=%s stops start-up with a message naming it', (name, value) => {
    const error = (() => {
      try {
        loadConfig({ [name]: value });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(name);
  });

  it('never echoes a DATABASE_URL, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://admin:s3cret@host/db' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') as unknown }) as Error,
    );
  });
});
