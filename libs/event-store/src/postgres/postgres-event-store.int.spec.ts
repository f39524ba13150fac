import { testDatabaseUrl, testEvent as event, uniqueId } from '@herald/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailable, StreamNotFound } from '../errors.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import { PostgresEventStore } from './postgres-event-store.js';

describeEventStoreContract('PostgreSQL', () => {
  const url = testDatabaseUrl();
  return Promise.resolve({
    supportsFaults: true,
    newStore: async (faults) => {
      const store = new PostgresEventStore({ connectionString: url, poolSize: 4, pollIntervalMs: 50, ...faults });
      await store.migrate();
      return store;
    },
  });
});

describe('PostgreSQL adapter', () => {
  it('a connection lost in the middle of an append fails it as EventStoreUnavailable, writes nothing, and the process carries on', async () => {
    const url = testDatabaseUrl();
    const applicationName = uniqueId('herald-kill-');
    const killer = new pg.Client(url);
    await killer.connect();
    let kill = true;
    const store = new PostgresEventStore({
      connectionString: url,
      applicationName,
      beforeCommit: async () => {
        if (!kill) return;
        kill = false;
        await killer.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`,
          [applicationName],
        );
      },
    });
    await store.migrate();
    const streamId = `${uniqueId('kill')}-1`;
    await expect(store.append(streamId, [event('A')], 'no_stream')).rejects.toBeInstanceOf(EventStoreUnavailable);
    await expect(store.readStream(streamId)).rejects.toBeInstanceOf(StreamNotFound);
    expect((await store.append(streamId, [event('A')], 'no_stream')).nextExpectedRevision).toBe(0);
    await store.close();
    await killer.end();
  });
});
