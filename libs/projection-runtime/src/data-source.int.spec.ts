import { testDatabaseUrl } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { createReadModelDataSource } from './data-source.js';

describe('the read-model data source with timeouts', () => {
  it('fails a statement past its query timeout and does not hand its connection out again', async () => {
    const dataSource = await createReadModelDataSource({
      url: testDatabaseUrl(),
      poolSize: 1,
      timeouts: { queryTimeoutMs: 300, acquireTimeoutMs: 2_000 },
    }).initialize();
    try {
      await expect(dataSource.query('SELECT pg_sleep(3)')).rejects.toThrow('Query read timeout');
      // TypeORM releases the connection without the error: it must still not be reused.
      const started = performance.now();
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      expect(performance.now() - started).toBeLessThan(1_500);
      // In a transaction (a projection's batch): rolled back, and the next one works.
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.query('SELECT 1');
          await manager.query('SELECT pg_sleep(3)');
        }),
      ).rejects.toThrow('Query read timeout');
      expect(await dataSource.query('SELECT 2 AS two')).toEqual([{ two: 2 }]);
    } finally {
      await dataSource.destroy();
    }
  });
});
