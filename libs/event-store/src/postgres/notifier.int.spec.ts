import { eventually, freshDatabase, testEvent as event, uniqueId } from '@herald/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { LISTENERS_CHANNEL, Notifier } from './notifier.js';
import { PostgresEventStore } from './postgres-event-store.js';

/**
 * Issue 17: a write transaction's NOTIFY is skipped while no other listener is connected to
 * the database (one process, `npm start`), and sent again as soon as one listens. Each test
 * has a database of its own: channels, and the listeners looked up, are per database.
 */
describe('Notifier: NOTIFY only when someone else listens', () => {
  it('sends no NOTIFY while it is the only listener, notifies a listener that starts, and stops once it left', async () => {
    const url = await freshDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const writer = new Notifier(url);
    const other = new Notifier(url);
    try {
      // The writer listens itself (a follower in its process waits).
      void writer.wait(60_000);
      // Not known at first: it notifies, and looks; then it stops.
      await eventually(() => {
        const before = writer.notifiesSent;
        writer.publish(pool);
        return writer.notifiesSent === before;
      });
      const quiet = writer.notifiesSent;
      for (let i = 0; i < 5; i++) writer.publish(pool);
      expect(writer.notifiesSent).toBe(quiet);

      // Another listener starts (another process): it is woken by the writer's commits.
      const generation = other.generation;
      void other.wait(60_000);
      await eventually(() => {
        writer.publish(pool);
        return other.generation > generation;
      });
      expect(writer.notifiesSent).toBeGreaterThan(quiet);

      // It goes away: the writer stops notifying again (after its next look).
      await other.close();
      await eventually(() => {
        const before = writer.notifiesSent;
        writer.publish(pool);
        return writer.notifiesSent === before;
      });
    } finally {
      await other.close();
      await writer.close();
      await pool.end();
    }
  });

  it("a follower in another store, which never polls, still gets the writer's events", async () => {
    const url = await freshDatabase();
    const writer = new PostgresEventStore({ connectionString: url, poolSize: 2 });
    // Polls once a minute: within the test it can only be woken by a NOTIFY.
    const reader = new PostgresEventStore({ connectionString: url, poolSize: 2, pollIntervalMs: 60_000 });
    await writer.migrate();
    const controller = new AbortController();
    const seen: string[] = [];
    // The reader announces that it listens: the writer's first commit comes after that.
    const watcher = new pg.Client(url);
    await watcher.connect();
    let announced = false;
    watcher.on('notification', () => (announced = true));
    await watcher.query(`LISTEN ${LISTENERS_CHANNEL}`);
    try {
      const following = (async () => {
        for await (const page of reader.subscribeToAll({ signal: controller.signal })) {
          for (const e of page.events) seen.push(e.streamId);
        }
      })();
      await eventually(() => announced);
      const streams = [uniqueId('s-'), uniqueId('s-'), uniqueId('s-')];
      for (const stream of streams) {
        await writer.append(stream, [event('Something')], 'no_stream');
        await eventually(() => seen.includes(stream));
      }
      expect(seen).toEqual(streams);
      controller.abort();
      await following;
    } finally {
      controller.abort();
      await watcher.end();
      await reader.close();
      await writer.close();
    }
  });
});
