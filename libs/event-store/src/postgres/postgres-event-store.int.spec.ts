import { testDatabaseUrl } from '@herald/testing';
import { describeEventStoreContract } from '../event-store.contract.js';
import { PostgresEventStore } from './postgres-event-store.js';

describeEventStoreContract('PostgreSQL', async () => {
  const url = testDatabaseUrl();
  await new PostgresEventStore({ connectionString: url }).migrate().catch(() => undefined);
  return {
    supportsFaults: true,
    newStore: async (faults) => {
      const store = new PostgresEventStore({ connectionString: url, poolSize: 4, pollIntervalMs: 50, ...faults });
      await store.migrate();
      return store;
    },
  };
});
