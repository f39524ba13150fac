import { streamIdOf } from '@herald/events';
import { eventually, freshDatabase, testEvent, uniqueId } from '@herald/testing';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { contentHash, eventHash, personalDigest, type PersonalSalts } from '../../integrity/event-hash.js';
import { parseDigest } from '../../integrity/merkle.js';
import { PostgresEventStore } from '../postgres-event-store.js';
import { Sealer } from './sealer.js';
import { TamperEvidence } from './tamper-evidence.js';
import { split } from './verify.js';
import { START } from '../../checkpoint.js';

interface World {
  readonly url: string;
  readonly store: PostgresEventStore;
  readonly sealer: Sealer;
  readonly evidence: TamperEvidence;
  readonly sql: pg.Client;
  readonly streams: string[];
}

const opened: World[] = [];
afterEach(async () => {
  for (const w of opened.splice(0)) {
    await w.store.close();
    await w.sealer.stop();
    await w.evidence.close();
    await w.sql.end();
  }
});

const message = (text: string) =>
  testEvent('MessageSent', { messageId: crypto.randomUUID(), senderId: 'u-1', text, mentions: [] });

/** A fresh log: three conversations of 12 events (messages with personal text), sealed in two seals. */
async function world(options: { hashing?: boolean } = {}): Promise<World> {
  const url = await freshDatabase();
  const store = new PostgresEventStore({ connectionString: url, poolSize: 4, ...options });
  await store.migrate();
  const sealer = new Sealer({ connectionString: url, intervalMs: 60_000, maxEvents: 20 });
  const evidence = new TamperEvidence({ connectionString: url });
  const sql = new pg.Client(url);
  await sql.connect();
  const streams = [1, 2, 3].map((i) => streamIdOf('conversation', `${uniqueId()}${i}`));
  for (let round = 0; round < 4; round++) {
    for (const stream of streams) {
      await store.append(
        stream,
        [message(`hello ${round}`), message(`again ${round}`), testEvent('ReactionAdded')],
        'any',
      );
    }
  }
  const w = { url, store, sealer, evidence, sql, streams };
  opened.push(w);
  return w;
}

async function row(w: World, stream: string, revision: number) {
  const { rows } = await w.sql.query<{ data: string; personal: string | null; cp: string }>(
    `SELECT data::text AS data, personal::text AS personal,
            lpad(to_hex(tx_id::text::bigint), 16, '0') || '-' || lpad(to_hex(global_position), 16, '0') AS cp
       FROM herald_events WHERE stream_id = $1 AND stream_revision = $2`,
    [stream, revision],
  );
  return rows[0]!;
}

describe('tamper evidence on PostgreSQL', () => {
  it('chains every event to its stream, seals the log, and verifies it whole, by stream and by range', async () => {
    const w = await world();
    const seals = await w.sealer.sealAll();
    expect(seals.map((s) => [s.number, s.eventCount])).toEqual([
      [1, 20],
      [2, 16],
    ]);
    expect(seals[1]!.previousHash).toBe(seals[0]!.sealHash);
    const whole = await w.evidence.verify();
    expect(whole).toMatchObject({ ok: true, events: 36, seals: 2, unsealed: 0 });
    expect(await w.evidence.verify({ stream: w.streams[1]! })).toMatchObject({ ok: true, events: 12 });
    const ranged = await w.evidence.verify({ from: seals[0]!.lastCheckpoint as never });
    expect(ranged).toMatchObject({ ok: true, events: 16, seals: 1 });

    // Messages' text entered the hash as a salted digest; reactions have no personal field.
    const first = await row(w, w.streams[0]!, 0);
    expect(Object.keys(JSON.parse(first.personal!) as object)).toEqual(['/text']);
    expect((await row(w, w.streams[0]!, 2)).personal).toBeNull();

    // New events after the last seal are checked and counted as not sealed yet.
    await w.store.append(w.streams[0]!, [message('late')], 'any');
    expect(await w.evidence.verify()).toMatchObject({ ok: true, events: 37, unsealed: 1 });
  });

  it('seals every interval while events come, with two sealers running one chain of seals between them', async () => {
    const w = await world();
    const a = new Sealer({ connectionString: w.url, intervalMs: 100, maxEvents: 7 });
    const b = new Sealer({ connectionString: w.url, intervalMs: 100, maxEvents: 7 });
    a.start();
    b.start();
    try {
      for (let i = 0; i < 5; i++) {
        await w.store.append(w.streams[i % 3]!, [message(`live ${i}`)], 'any');
        await new Promise((resolve) => setTimeout(resolve, 60));
      }
      await eventually(async () => (await w.evidence.verify()).unsealed === 0);
    } finally {
      await a.stop();
      await b.stop();
    }
    const report = await w.evidence.verify();
    expect(report).toMatchObject({ ok: true, events: 41, unsealed: 0 });
    expect(report.seals).toBeGreaterThanOrEqual(6);
  });

  it('chains seals past nine of them (seal numbers sort as numbers)', async () => {
    const w = await world();
    const small = new Sealer({ connectionString: w.url, intervalMs: 60_000, maxEvents: 3 });
    try {
      const seals = await small.sealAll();
      expect(seals.map((s) => s.number)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(await w.evidence.verify()).toMatchObject({ ok: true, events: 36, seals: 12 });
      expect((await w.evidence.latestDigest())?.digest).toMatch(/^herald-digest:v1:12:/);
    } finally {
      await small.stop();
    }
  });

  it('names the stream, revision and checkpoint of an event changed by a direct UPDATE', async () => {
    const w = await world();
    await w.sealer.sealAll();
    const target = await row(w, w.streams[1]!, 5);
    await w.sql.query(
      `UPDATE herald_events SET metadata = '{"actorId":"someone-else"}' WHERE stream_id = $1 AND stream_revision = 5`,
      [w.streams[1]],
    );
    const report = await w.evidence.verify();
    expect(report.ok).toBe(false);
    expect(report.broken).toMatchObject({ streamId: w.streams[1], revision: 5, checkpoint: target.cp });
    expect((await w.evidence.verify({ stream: w.streams[1]! })).broken).toMatchObject({ revision: 5 });
    expect((await w.evidence.verify({ stream: w.streams[0]! })).ok).toBe(true);
  });

  it('names a DELETE: a missing revision in its stream, or a sealed range short of an event', async () => {
    const w = await world();
    await w.sealer.sealAll();
    const target = await row(w, w.streams[2]!, 7);
    const next = await row(w, w.streams[2]!, 8);
    await w.sql.query(`DELETE FROM herald_events WHERE stream_id = $1 AND stream_revision = 7`, [w.streams[2]]);
    expect((await w.evidence.verify()).broken).toMatchObject({
      streamId: w.streams[2],
      revision: 7,
      checkpoint: next.cp,
    });
    expect((await w.evidence.verify({ stream: w.streams[2]! })).broken).toMatchObject({ revision: 7 });
    expect(target.cp < next.cp).toBe(true);

    // A stream's newest event has no successor to miss it: its seal does.
    const w2 = await world();
    await w2.sealer.sealAll();
    await w2.sql.query(`DELETE FROM herald_events WHERE stream_id = $1 AND stream_revision = 11`, [w2.streams[2]]);
    const report = await w2.evidence.verify();
    expect(report.broken).toMatchObject({ sealNumber: 2 });
    expect(report.broken?.reason).toMatch(/covers 16 events, the log holds 15/);
  });

  it('names a reordering: two events of a stream swapped, or two rows swapped between checkpoints', async () => {
    const w = await world();
    await w.sealer.sealAll();
    const stream = w.streams[0]!;
    const third = await row(w, stream, 3);
    await w.sql.query(
      `UPDATE herald_events SET stream_revision = CASE stream_revision WHEN 3 THEN -1 ELSE stream_revision END WHERE stream_id = $1;
       UPDATE herald_events SET stream_revision = 3 WHERE stream_id = $1 AND stream_revision = 4;
       UPDATE herald_events SET stream_revision = 4 WHERE stream_id = $1 AND stream_revision = -1;`.replaceAll(
        '$1',
        `'${stream}'`,
      ),
    );
    const swapped = await w.evidence.verify();
    // In checkpoint order the first broken link is the old revision 3, now claiming to be 4.
    expect(swapped.broken).toMatchObject({ streamId: stream, revision: 4, checkpoint: third.cp });
    expect((await w.evidence.verify({ stream })).broken).toMatchObject({ revision: 3 });

    // Whole rows (content and hash) swapped between two places in the log: every chain link
    // still holds, the seal's Merkle root does not.
    const w2 = await world();
    await w2.sealer.sealAll();
    const [a, b] = [w2.streams[0]!, w2.streams[1]!];
    const cols = 'stream_id, stream_revision, event_id, type, schema_version, data, metadata, hash, personal';
    await w2.sql.query(
      `BEGIN;
       CREATE TEMP TABLE swap ON COMMIT DROP AS SELECT tx_id, global_position, ${cols} FROM herald_events
        WHERE (stream_id, stream_revision) IN (('${a}', 0), ('${b}', 0));
       DELETE FROM herald_events WHERE (stream_id, stream_revision) IN (('${a}', 0), ('${b}', 0));
       INSERT INTO herald_events (tx_id, global_position, ${cols}) OVERRIDING SYSTEM VALUE
       SELECT o.tx_id, o.global_position, ${cols
         .split(', ')
         .map((c) => `s.${c}`)
         .join(', ')}
         FROM swap s JOIN swap o ON o.global_position <> s.global_position;`,
    );
    await w2.sql.query(`COMMIT`);
    const reordered = await w2.evidence.verify();
    expect(reordered.ok).toBe(false);
    expect(reordered.broken?.reason).toMatch(/seal 1: the events in its range were rewritten or reordered/);
  });

  it('a digest kept earlier catches a rewrite before it that re-hashed the chain and re-sealed the log', async () => {
    const w = await world();
    await w.sealer.sealAll();
    const digest = (await w.evidence.latestDigest())!.digest;
    expect(digest).toMatch(/^herald-digest:v1:2:[0-9a-f]{16}-[0-9a-f]{16}:[0-9a-f]{64}$/);
    expect(await w.evidence.verify({ digest: parseDigest(digest)! })).toMatchObject({ ok: true, seals: 2 });

    // The forger rewrites a message, recomputes its stream's chain from there, and reseals.
    const stream = w.streams[0]!;
    const { rows } = await w.sql.query<{
      rev: string;
      event_id: string;
      type: string;
      data: string;
      metadata: string;
      personal: string | null;
    }>(
      `SELECT stream_revision::text AS rev, event_id::text, type, data::text AS data, metadata::text AS metadata, personal::text AS personal
         FROM herald_events WHERE stream_id = $1 ORDER BY stream_revision`,
      [stream],
    );
    let previous: string | null = null;
    for (const r of rows) {
      const data = r.rev === '3' ? r.data.replace('hello 1', 'HELLO 1') : r.data;
      const content = contentHash({
        eventId: r.event_id,
        type: r.type,
        schemaVersion: 1,
        data,
        metadata: r.metadata,
        personal: r.personal === null ? null : (JSON.parse(r.personal) as PersonalSalts),
      });
      previous = eventHash(stream, Number(r.rev), content, previous);
      await w.sql.query(
        `UPDATE herald_events SET data = $3::json, hash = decode($4, 'hex') WHERE stream_id = $1 AND stream_revision = $2`,
        [stream, r.rev, data, previous],
      );
    }
    await w.sql.query('DELETE FROM herald_seals');
    await w.sealer.sealAll();

    expect((await w.evidence.verify()).ok).toBe(true); // consistent again, as forged
    const caught = await w.evidence.verify({ digest: parseDigest(digest)! });
    expect(caught.ok).toBe(false);
    expect(caught.broken).toMatchObject({ sealNumber: 2 });
    expect(caught.broken?.reason).toMatch(/seal 2 differs from the digest: history before it was rewritten/);
  });

  it('still verifies after a personal field is erased in the store, and detects any other change', async () => {
    const w = await world();
    await w.sealer.sealAll();
    const stream = w.streams[1]!;
    const target = await row(w, stream, 4);
    const data = JSON.parse(target.data) as Record<string, unknown>;
    const salts = JSON.parse(target.personal!) as Record<string, string>;
    // Erasure: the value becomes null, its salt is replaced by the digest it entered the hash as.
    const erasedSalts = { '/text': { erased: personalDigest(salts['/text']!, data.text) } };
    await w.sql.query(
      `UPDATE herald_events SET data = $3::json, personal = $4::json WHERE stream_id = $1 AND stream_revision = $2`,
      [stream, 4, JSON.stringify({ ...data, text: null }), JSON.stringify(erasedSalts)],
    );
    expect(await w.evidence.verify()).toMatchObject({ ok: true, events: 36, seals: 2 });

    const tamper = async (newData: unknown, personal: unknown, pattern: RegExp): Promise<void> => {
      await w.sql.query(
        `UPDATE herald_events SET data = $3::json, personal = $4::json WHERE stream_id = $1 AND stream_revision = $2`,
        [stream, 4, JSON.stringify(newData), JSON.stringify(personal)],
      );
      const report = await w.evidence.verify();
      expect(report.broken).toMatchObject({ streamId: stream, revision: 4, checkpoint: target.cp });
      expect(report.broken?.reason).toMatch(pattern);
    };
    // Another field changed.
    await tamper({ ...data, text: null, senderId: 'u-2' }, erasedSalts, /altered/);
    // The "erased" value replaced by other text.
    await tamper({ ...data, text: 'forged' }, erasedSalts, /erased personal value \/text is not null/);
    // The text rewritten with its salt kept.
    await tamper({ ...data, text: 'forged' }, salts, /altered/);
    // The salt dropped to make the digest pass as the value.
    await tamper({ ...data, text: erasedSalts['/text'].erased }, null, /altered/);
  });

  it('gives events written before the chain their hashes once, at migration', async () => {
    const w = await world({ hashing: false });
    expect((await w.evidence.verify()).broken?.reason).toBe('the event has no hash');
    await w.sql.query('UPDATE herald_integrity SET backfilled = false');
    const upgraded = new PostgresEventStore({ connectionString: w.url, poolSize: 2 });
    await upgraded.migrate();
    await upgraded.append(w.streams[0]!, [message('after the upgrade')], 'any');
    await upgraded.close();
    await w.sealer.sealAll();
    expect(await w.evidence.verify()).toMatchObject({ ok: true, events: 37, seals: 2 });
    expect((await row(w, w.streams[0]!, 0)).personal).toMatch(/"\/text"/);
  });

  describe('split between threads by whole seals', () => {
    /**
     * Six seals of six events, checked by three segments of two seals each: events 1-12
     * (round 0, and round 1 of the first stream), 13-24, 25-36 in checkpoint order.
     */
    async function sixSeals(): Promise<World> {
      const w = await world();
      const sealer = new Sealer({ connectionString: w.url, intervalMs: 60_000, maxEvents: 6 });
      try {
        expect((await sealer.sealAll()).map((s) => s.eventCount)).toEqual([6, 6, 6, 6, 6, 6]);
      } finally {
        await sealer.stop();
      }
      return w;
    }
    const tamper = (w: World, stream: string, revision: number) =>
      w.sql.query(
        `UPDATE herald_events SET metadata = '{"actorId":"someone-else"}' WHERE stream_id = $1 AND stream_revision = $2`,
        [stream, revision],
      );
    /** Three threads report exactly what one pass does. */
    async function split3(w: World) {
      const one = await w.evidence.verify({ threads: 1 });
      const three = await w.evidence.verify({ threads: 3 });
      expect(three).toEqual(one);
      return three;
    }

    it('cuts the log into segments of whole seals, and verifies it intact', async () => {
      const w = await sixSeals();
      const seals = await w.sealer.sealAll(); // nothing new
      expect(seals).toEqual([]);
      const segments = await split(
        w.sql,
        { from: START, to: (await row(w, w.streams[2]!, 11)).cp, firstSeal: 1, final: true },
        3,
      );
      expect(segments.map((s) => [s.firstSeal, s.linkTo?.number ?? null, s.final])).toEqual([
        [1, null, false],
        [3, 2, false],
        [5, 4, true],
      ]);
      expect(segments[1]!.from).toBe(segments[0]!.to);
      expect(segments[0]!.to).toBe((await row(w, w.streams[0]!, 5)).cp);
      expect(segments[2]!.from).toBe((await row(w, w.streams[1]!, 8)).cp);
      expect(await split3(w)).toMatchObject({ ok: true, events: 36, seals: 6, unsealed: 0 });
    });

    it("names a tampered event inside a segment's range, and at either side of a boundary", async () => {
      const cases: [stream: number, revision: number, checkedBefore: number][] = [
        [1, 4, 13], // inside the second segment
        [0, 5, 11], // the last event of the first segment
        [1, 3, 12], // the first event of the second segment
        [2, 6, 24], // the first event of the third segment
      ];
      for (const [stream, revision, checkedBefore] of cases) {
        const w = await sixSeals();
        const target = await row(w, w.streams[stream]!, revision);
        await tamper(w, w.streams[stream]!, revision);
        const report = await split3(w);
        expect(report.broken).toMatchObject({ streamId: w.streams[stream], revision, checkpoint: target.cp });
        expect(report.events).toBe(checkedBefore);
      }
    });

    it('names a seal altered at a boundary, unless the next segment’s first event is broken too (one pass meets it first)', async () => {
      const w = await sixSeals();
      await w.sql.query(`UPDATE herald_seals SET merkle_root = decode(repeat('00', 32), 'hex') WHERE seal_number = 2`);
      const report = await split3(w);
      expect(report.broken).toMatchObject({ sealNumber: 2 });
      expect(report.broken?.reason).toMatch(/seal 2: the events in its range were rewritten or reordered/);
      expect(report).toMatchObject({ events: 12, seals: 1 });

      await tamper(w, w.streams[1]!, 3);
      const both = await split3(w);
      expect(both.broken).toMatchObject({ streamId: w.streams[1], revision: 3 });

      // A seal deleted where a cut would be: the segments are cut elsewhere, the gap named.
      const w2 = await sixSeals();
      await w2.sql.query(`DELETE FROM herald_seals WHERE seal_number = 3`);
      expect((await split3(w2)).broken?.reason).toMatch(/seal 3 is missing/);
    });
  });
});
