/** Closing the app right after it started (projections still starting up) does not hang. */
import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { TEST_JWT_SECRET, testDatabaseUrl } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { createApp } from './bootstrap.js';

describe('shutdown', () => {
  it('closes at once, even while its followers are starting', async () => {
    for (let i = 0; i < 3; i++) {
      const app = await createApp({
        config: loadConfig({}),
        databaseUrl: testDatabaseUrl(),
        logger: new JsonLogger('fatal'),
        jwtSecret: TEST_JWT_SECRET,
      });
      const started = Date.now();
      await app.close();
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});
