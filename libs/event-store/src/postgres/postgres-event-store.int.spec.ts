import { READ_MODEL_APPLICATION_NAME } from '@herald/database';
import { eventually, testDatabaseUrl, testEvent as event, uniqueId } from '@herald/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailable, StreamNotFound } from '../errors.js';
import type { Checkpoint } from '../checkpoint.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import { PostgresEventStore } from './postgres-event-store.js';

describeEventStoreContract('PostgreSQL', () => {
  const url = testDatabaseUrl();
  return Promise.resolve({
    supportsFaults: true,
    uniqueEventIds: true,
    newStore: async (faults) => {
      const store = new PostgresEventStore({ connectionString: url, poolSize: 4, pollIntervalMs: 50, ...faults });
      await store.migrate();
      return store;
    },
    // A direct UPDATE, as someone with write access to the database.
    tamper: async (streamId, revision, part) => {
      const sql = new pg.Client(url);
      await sql.connect();
      try {
        await sql.query(
          part === 'data'
            ? `UPDATE herald_events SET data = (data::jsonb || '{"forged":true}')::json WHERE stream_id = $1 AND stream_revision = $2`
            : `UPDATE herald_events SET metadata = jsonb_set(metadata::jsonb, '{actorId}', '"someone-else"')::json WHERE stream_id = $1 AND stream_revision = $2`,
          [streamId, revision],
        );
      } finally {
        await sql.end();
      }
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

  it("a read model's open transaction does not hold followers back, another writer's does, and read models cannot write the log", async () => {
    const url = testDatabaseUrl();
    const store = new PostgresEventStore({ connectionString: url, poolSize: 2 });
    await store.migrate();
    const readModel = new pg.Client({ connectionString: url, application_name: READ_MODEL_APPLICATION_NAME });
    const other = new pg.Client({ connectionString: url, application_name: 'herald-test-writer' });
    await Promise.all([readModel.connect(), other.connect()]);
    const streamId = `${uniqueId('horizon')}-1`;
    const sees = async (from: Checkpoint): Promise<number> =>
      (await store.readAll({ from, limit: 100 })).events.filter((e) => e.streamId === streamId).length;
    try {
      // A transaction id of its own, and the transaction left open: as a projection's batch.
      await readModel.query('BEGIN');
      await readModel.query('SELECT pg_current_xact_id()');
      const from = await store.headCheckpoint();
      await store.append(streamId, [event('A')], 'no_stream');
      expect(await sees(from)).toBe(1);
      expect(await store.headCheckpoint()).not.toBe(from);

      // Any other connection's transaction still running may yet commit events behind.
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const before = await store.headCheckpoint();
      await store.append(streamId, [event('B')], 0);
      expect(await sees(before)).toBe(0);
      expect(await store.headCheckpoint()).toBe(before);
      await other.query('COMMIT');
      expect(await sees(before)).toBe(1);

      await readModel.query('ROLLBACK');
      await expect(
        readModel.query(
          `INSERT INTO herald_events (stream_id, stream_revision, event_id, type, schema_version, data, metadata)
           VALUES ($1, 2, gen_random_uuid(), 'C', 1, '{}', '{}')`,
          [streamId],
        ),
      ).rejects.toThrow(/read-model connections never write the event log/);
      await expect(readModel.query('DELETE FROM herald_events WHERE stream_id = $1', [streamId])).rejects.toThrow(
        /never write the event log/,
      );
      expect((await store.readStream(streamId)).length).toBe(2);
    } finally {
      await Promise.all([readModel.end(), other.end()]);
      await store.close();
    }
  });

  it('an append of a stream whose revision it knows is one statement that takes the stream lock before it writes, and commits before it answers', async () => {
    const url = testDatabaseUrl();
    const applicationName = uniqueId('herald-one-trip-');
    const store = new PostgresEventStore({ connectionString: url, poolSize: 2, applicationName });
    await store.migrate();
    const holder = new pg.Client(url);
    const watcher = new pg.Client(url);
    await Promise.all([holder.connect(), watcher.connect()]);
    const streamId = `${uniqueId('onetrip')}-1`;
    try {
      await store.append(streamId, [event('A')], 'no_stream');
      // Another writer holds the stream's lock (the key stream-locks.ts uses).
      await holder.query(`SELECT pg_advisory_lock(${0x48524c44}, hashtext($1))`, [streamId]);
      const appended = store.append(streamId, [event('B')], 0);
      // The one statement waits on the lock, and has written nothing meanwhile.
      await eventually(async () => {
        const { rows } = await watcher.query<{ query: string }>(
          `SELECT query FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
          [applicationName],
        );
        return rows.some((r) => r.query.includes('stream_locks') && r.query.includes('INSERT INTO herald_events'));
      });
      const written = await watcher.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM herald_events WHERE stream_id = $1',
        [streamId],
      );
      expect(written.rows[0]!.n).toBe(1);
      await holder.query(`SELECT pg_advisory_unlock(${0x48524c44}, hashtext($1))`, [streamId]);
      expect((await appended).nextExpectedRevision).toBe(1);
      // Committed when it answered: another connection sees it at once.
      const after = await watcher.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM herald_events WHERE stream_id = $1',
        [streamId],
      );
      expect(after.rows[0]!.n).toBe(2);
      // A retry of an append already written (same event id, any revision, so the known
      // revision is trusted): the one statement breaks the unique key, the batch runs again
      // the reading way and answers the first write.
      const retried = event('C');
      const first = await store.append(streamId, [retried], 1);
      expect(await store.append(streamId, [retried], 'any')).toEqual(first);
      expect((await store.readStream(streamId)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    } finally {
      await Promise.all([holder.end(), watcher.end()]);
      await store.close();
    }
  });
});
