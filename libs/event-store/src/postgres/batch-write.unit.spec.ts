import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../checkpoint.js';
import { EventStoreUnavailable } from '../errors.js';
import type { AppendResult, ExpectedRevision } from '../types.js';
import type { PendingAppend } from './append-queue.js';
import { BatchWriter } from './batch-write.js';
import { KnownRevisions } from './known-revisions.js';

/** An append to `streamId` whose outcome lands in `settled`. */
function pending(streamId: string, expected: ExpectedRevision, settled: unknown[]): PendingAppend {
  return {
    streamId,
    events: [
      {
        event: {
          eventId: randomUUID(),
          type: 'A',
          schemaVersion: 1,
          data: {},
          metadata: { actorId: 'a', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
        },
        data: '{}',
        metadata: '{}',
      },
    ],
    bytes: 4,
    expected,
    resolve: (result: AppendResult) => settled.push(result),
    reject: (error: unknown) => settled.push(error),
  };
}

/**
 * A pool whose connections answer the batch write's statements: `fail(attempt)` gives the
 * error the opening round trip of that attempt fails with (none: it succeeds, the streams
 * read at `revision`). Every statement's text is kept.
 */
function fakePool(fail: (attempt: number) => object | undefined, revision = 0) {
  const fake = {
    attempts: 0,
    statements: [] as string[],
    released: 0,
  };
  const client = {
    on: () => client,
    off: () => client,
    release: () => fake.released++,
    escapeLiteral: (value: string) => `'${value.replace(/'/g, "''")}'`,
    query: (query: string | { text: string; values: unknown[] }) => {
      const text = typeof query === 'string' ? query : query.text;
      fake.statements.push(text);
      // An attempt opens with BEGIN, or is the one-round-trip statement.
      const oneTrip = text.includes('stream_locks AS');
      if (text.startsWith('BEGIN') || oneTrip) {
        const error = fail(++fake.attempts);
        if (error) return Promise.reject(Object.assign(new Error('fake failure'), error));
        if (oneTrip) {
          const ids = (query as { values: unknown[] }).values[2] as string[];
          return Promise.resolve({ rows: ids.map((id, i) => ({ tx: '9', pos: String(90 + i), event_id: id })) });
        }
        const streams = [...text.matchAll(/unnest\(ARRAY\[([^\]]*)\]::text\[\]\) AS id\b/g)].at(-1)?.[1] ?? '';
        const toRead = streams === '' ? [] : streams.split(',').map((s) => s.slice(1, -1));
        return Promise.resolve([
          {},
          {},
          { rows: toRead.map((id) => ({ stream_id: id, revision: String(revision) })) },
          { rows: [] },
        ]);
      }
      if (typeof query !== 'string') {
        const ids = query.values[2] as string[];
        return Promise.resolve({ rows: ids.map((id, i) => ({ tx: '9', pos: String(90 + i), event_id: id })) });
      }
      return Promise.resolve({ rows: [] });
    },
  };
  const pool = { connect: () => Promise.resolve(client) } as unknown as pg.Pool;
  return { fake, pool };
}

function writer(pool: pg.Pool, known = new KnownRevisions()) {
  const published = { count: 0 };
  const batchWriter = new BatchWriter(pool, known, { publish: () => published.count++ }, undefined);
  return { batchWriter, published, known };
}

describe('BatchWriter', () => {
  it('commits a batch, then remembers the revisions, tells followers and settles each append', async () => {
    const { fake, pool } = fakePool(() => undefined, 4);
    const { batchWriter, published, known } = writer(pool);
    const settled: unknown[] = [];
    const settle = await batchWriter.write([pending('s-1', 4, settled), pending('s-1', 4, settled)]);
    expect(fake.statements.at(-1)).toBe('COMMIT');
    expect(known.get('s-1')?.revision).toBe(5);
    expect(published.count).toBe(1);
    expect(settled).toEqual([]); // only once the caller settles
    settle();
    expect(settled[0]).toEqual({ nextExpectedRevision: 5, checkpoint: encodeCheckpoint(9n, 90n) });
    expect(settled[1]).toMatchObject({ actual: 5 });
  });

  it('reuses a revision it knows instead of reading it, and then writes in one round trip', async () => {
    const { fake, pool } = fakePool(() => undefined);
    const known = new KnownRevisions();
    known.remember('s-1', 3, null);
    const { batchWriter, published } = writer(pool, known);
    const settled: unknown[] = [];
    (await batchWriter.write([pending('s-1', 3, settled)]))();
    // One statement, no BEGIN or COMMIT: it locks, inserts and commits on its own.
    expect(fake.statements).toHaveLength(1);
    expect(fake.statements[0]).toMatch(
      /pg_advisory_xact_lock[\s\S]*INSERT INTO herald_events[\s\S]*WHERE \(SELECT n FROM stream_locks\) >= 0/,
    );
    expect(fake.statements[0]).not.toMatch(/stream_revision DESC/);
    expect(known.get('s-1')?.revision).toBe(4);
    expect(published.count).toBe(1);
    expect(settled[0]).toEqual({ nextExpectedRevision: 4, checkpoint: encodeCheckpoint(9n, 90n) });
  });

  it('writes in one round trip only when every event of the batch is written', async () => {
    const { fake, pool } = fakePool(() => undefined);
    const known = new KnownRevisions();
    known.remember('s-1', 3, null);
    const { batchWriter } = writer(pool, known);
    const settled: unknown[] = [];
    // The second append expects revision 3 too: it fails on the first one's write.
    (await batchWriter.write([pending('s-1', 3, settled), pending('s-1', 3, settled)]))();
    expect(fake.statements[0]).not.toMatch(/INSERT INTO herald_events/);
    expect(fake.statements.at(-1)).toBe('COMMIT');
    expect(settled[0]).toMatchObject({ nextExpectedRevision: 4 });
    expect(settled[1]).toMatchObject({ actual: 4 });
  });

  it('reads a known revision that contradicts an expectation: it may be behind', async () => {
    const { fake, pool } = fakePool(() => undefined, 7);
    const known = new KnownRevisions();
    known.remember('s-1', 3, null);
    const { batchWriter } = writer(pool, known);
    await batchWriter.write([pending('s-1', 7, [])]);
    expect(fake.statements[0]).toMatch(/unnest\(ARRAY\['s-1'\]::text\[\]\) AS id\b/);
  });

  it('runs a batch that lost a race to another writer again, reading every revision this time', async () => {
    const { fake, pool } = fakePool((attempt) => (attempt === 1 ? { code: '23505' } : undefined));
    const known = new KnownRevisions();
    known.remember('s-1', 0, null);
    const { batchWriter } = writer(pool, known);
    const settled: unknown[] = [];
    (await batchWriter.write([pending('s-1', 0, settled)]))();
    // The one-round-trip statement lost; the second attempt reads every revision.
    expect(fake.statements[0]).toMatch(/stream_locks AS/);
    const begins = fake.statements.filter((s) => s.startsWith('BEGIN'));
    expect(begins).toHaveLength(1);
    expect(begins[0]).toMatch(/unnest\(ARRAY\['s-1'\]::text\[\]\) AS id\b/);
    expect(fake.statements).toContain('ROLLBACK');
    expect(settled[0]).toMatchObject({ nextExpectedRevision: 1 });
  });

  it('fails a batch that keeps losing races after five attempts, as EventStoreUnavailable', async () => {
    const { fake, pool } = fakePool(() => ({ code: '40P01' }));
    const { batchWriter } = writer(pool);
    await expect(batchWriter.write([pending('s-1', 'any', [])])).rejects.toBeInstanceOf(EventStoreUnavailable);
    expect(fake.attempts).toBe(5);
    expect(fake.released).toBe(5);
  });

  it('fails a batch whose connection was lost as EventStoreUnavailable, and forgets every known revision', async () => {
    const { fake, pool } = fakePool(() => ({ code: '08006' }));
    const known = new KnownRevisions();
    known.remember('t-1', 3, null);
    const { batchWriter } = writer(pool, known);
    await expect(batchWriter.write([pending('s-1', 'any', [])])).rejects.toBeInstanceOf(EventStoreUnavailable);
    expect(fake.attempts).toBe(1);
    expect(known.get('t-1')).toBeUndefined();
  });

  it('fails a batch with any other error as it is, at once, rolled back', async () => {
    const { fake, pool } = fakePool(() => ({ code: '42601' }));
    const known = new KnownRevisions();
    known.remember('t-1', 3, null);
    const { batchWriter, published } = writer(pool, known);
    await expect(batchWriter.write([pending('s-1', 'any', [])])).rejects.toMatchObject({
      message: 'fake failure',
      code: '42601',
    });
    expect(fake.attempts).toBe(1);
    expect(fake.statements.at(-1)).toBe('ROLLBACK');
    expect(known.get('t-1')?.revision).toBe(3);
    expect(published.count).toBe(0);
  });
});
