/**
 * The audit reads built on the port (audit-log.ts), on both stores that use them: the
 * in-memory store and the EventStoreDB adapter on a simulated server. Windows follow one
 * another without a gap or a repeat across their 2,000-event boundaries, every filter and
 * bound holds, and what the store cannot answer is refused before any line. PostgreSQL's
 * own windows: log-plans.int.spec.ts and the audit API's end-to-end tests.
 */
import { streamIdOf } from '@herald/events';
import { range, testEvent as event } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { AUDIT_WINDOW, auditTime } from './audit-log.js';
import { UnsupportedRead } from './errors.js';
import { EventStoreDbEventStore } from './eventstoredb/eventstoredb-event-store.js';
import { SimulatedEventStoreDb } from './eventstoredb/simulated-server.testing.js';
import { InMemoryEventStore } from './memory/in-memory-event-store.js';
import type { AuditEvent, AuditLogQuery, EventStore } from './types.js';

const stores: [string, () => EventStore][] = [
  ['in memory', () => new InMemoryEventStore({ personalFields: () => [] })],
  [
    'EventStoreDB (simulated)',
    () => new EventStoreDbEventStore({ transport: new SimulatedEventStoreDb().connect(), personalFields: () => [] }),
  ],
];

async function read(store: EventStore, query: AuditLogQuery): Promise<{ lines: AuditEvent[]; chunks: number[] }> {
  const chunks: number[] = [];
  let counted = 0;
  const lines: AuditEvent[] = [];
  for await (const chunk of await store.auditLog(query, (n) => (counted += n))) {
    const parsed = chunk
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEvent);
    chunks.push(parsed.length);
    lines.push(...parsed);
  }
  expect(counted).toBe(lines.length);
  return { lines, chunks };
}

describe.each(stores)('audit reads through the port: %s', (_, open) => {
  /** 4,500 events of `a-1` (by several appends) with 450 of `b-1` between them: past two window boundaries. */
  async function filled(): Promise<EventStore> {
    const store = open();
    for (const batch of range(9)) {
      await store.append(
        'a-1',
        range(500).map((n) => event(n % 2 === 0 ? 'Even' : 'Odd', { n: batch * 500 + n })),
        batch === 0 ? 'no_stream' : batch * 500 - 1,
      );
      await store.append(
        'b-1',
        range(50).map(() => ({ ...event('Other'), metadata: { ...event('Other').metadata, actorId: 'actor-b' } })),
        batch === 0 ? 'no_stream' : batch * 50 - 1,
      );
    }
    return store;
  }

  it('reads the log in windows, in checkpoint order, each event once, up to the head and within its bounds', async () => {
    const store = await filled();
    const all = await read(store, {});
    expect(all.lines).toHaveLength(4_950);
    expect(all.chunks.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...all.chunks)).toBeLessThanOrEqual(AUDIT_WINDOW);
    const checkpoints = all.lines.map((l) => l.checkpoint);
    expect(new Set(checkpoints).size).toBe(checkpoints.length);
    expect(checkpoints).toEqual([...checkpoints].sort());
    expect(all.lines.filter((l) => l.streamId === 'a-1').map((l) => l.revision)).toEqual(range(4_500));
    // The lines hold the events as read from the store.
    const stored = (await store.readAll({ limit: 10_000 })).events;
    expect(all.lines).toEqual(
      stored.map((e) => ({
        checkpoint: e.globalPosition,
        streamId: e.streamId,
        revision: e.streamRevision,
        eventId: e.eventId,
        type: e.type,
        schemaVersion: e.schemaVersion,
        recordedAt: auditTime(e.recordedAt),
        data: e.data,
        metadata: e.metadata,
      })),
    );

    const after = checkpoints[999]!;
    const upTo = checkpoints[3_999]!;
    expect((await read(store, { after, upTo })).lines.map((l) => l.checkpoint)).toEqual(
      checkpoints.slice(1_000, 4_000),
    );
    expect((await read(store, { after: upTo, upTo: after })).lines).toEqual([]);
    const odd = await read(store, { after, eventTypes: ['Odd'] });
    expect(odd.lines.map((l) => l.checkpoint)).toEqual(
      all.lines
        .slice(1_000)
        .filter((l) => l.type === 'Odd')
        .map((l) => l.checkpoint),
    );
    const b = await read(store, { streamPrefixes: ['b-'], upTo });
    expect(b.lines.map((l) => l.checkpoint)).toEqual(
      all.lines.filter((l) => l.streamId === 'b-1' && l.checkpoint <= upTo).map((l) => l.checkpoint),
    );
    const byActor = await read(store, { actorId: 'actor-b', eventTypes: ['Other', 'Even'] });
    expect(byActor.lines).toHaveLength(450);
    // Events appended after the read began are not in it: it ends at the head it read first.
    const lines = await store.auditLog({ streamPrefixes: ['b-'] });
    await store.append('b-1', [event('Other')], 'any');
    let seen = 0;
    for await (const chunk of lines) seen += chunk.trimEnd().split('\n').length;
    expect(seen).toBe(450);
  });

  it('reads one stream in windows by revision, with the checkpoint, type, actor and time bounds', async () => {
    const store = await filled();
    const a = await read(store, { streamId: 'a-1' });
    expect(a.lines.map((l) => l.revision)).toEqual(range(4_500));
    expect(a.chunks).toEqual([2_000, 2_000, 500]);
    const after = a.lines[1_499]!.checkpoint;
    const upTo = a.lines[2_499]!.checkpoint;
    const ranged = await read(store, { streamId: 'a-1', after, upTo, eventTypes: ['Even'] });
    expect(ranged.lines.map((l) => l.revision)).toEqual(
      range(1_000)
        .map((n) => 1_500 + n)
        .filter((n) => n % 2 === 0),
    );
    expect((await read(store, { streamId: 'b-1', actorId: 'actor-1' })).lines).toEqual([]);
    const since = new Date(Date.parse(a.lines[0]!.recordedAt));
    expect((await read(store, { streamId: 'a-1', since })).lines).toHaveLength(4_500);
    expect((await read(store, { streamId: 'a-1', until: since })).lines).toEqual([]);
    expect((await read(store, { streamId: 'never-1' })).lines).toEqual([]);
  });

  it('pages one stream by revision; a stream that never was is an empty page', async () => {
    const store = open();
    await store.append(
      's-1',
      range(5).map(() => event('E')),
      'no_stream',
    );
    const first = await store.readAuditStream('s-1', -1, 2);
    expect(first.events.map((e) => e.revision)).toEqual([0, 1]);
    expect(first.nextCursor).toBe(1);
    const last = await store.readAuditStream('s-1', 3, 2);
    expect(last.events.map((e) => e.revision)).toEqual([4]);
    expect(last.nextCursor).toBeNull();
    expect(await store.readAuditStream('s-1', 4, 2)).toEqual({ events: [], nextCursor: null });
    expect(await store.readAuditStream('never-1', -1, 10)).toEqual({ events: [], nextCursor: null });
  });

  it('shows a credential as "[redacted]", in stream pages and in the log, as PostgreSQL does', async () => {
    const store = open();
    const user = streamIdOf('user', '7d1c0f9e-0000-4000-8000-000000000001');
    await store.append(user, [event('PasswordSet', { userId: 'u', passwordHash: '$argon2id$secret' })], 'no_stream');
    const page = await store.readAuditStream(user, -1, 10);
    expect(page.events[0]!.data).toEqual({ userId: 'u', passwordHash: '[redacted]' });
    const { lines } = await read(store, {});
    expect(lines.map((l) => l.data)).toEqual([{ userId: 'u', passwordHash: '[redacted]' }]);
    expect(JSON.stringify(lines)).not.toContain('$argon2id$secret');
  });

  it('refuses, before any line, what the store cannot answer: a time range over the log, history it no longer serves', async () => {
    const store = open();
    await store.append(
      's-1',
      range(5).map(() => event('E')),
      'no_stream',
    );
    const since = new Date(0);
    await expect(store.auditLog({ since })).rejects.toThrow(/index by recorded time/);
    await expect(store.auditLog({ until: since, eventTypes: ['E'] })).rejects.toBeInstanceOf(UnsupportedRead);
    await expect(
      store.auditLog({ streamId: 's-1', since, after: '0'.repeat(16) + '-' + '0'.repeat(16) } as AuditLogQuery),
    ).rejects.toBeInstanceOf(RangeError);

    await store.setStreamMetadata('s-1', { truncateBefore: 2 });
    await expect(store.readAuditStream('s-1', -1, 10)).rejects.toThrow(
      /no longer serves revisions 0 to 1 of s-1 .* serves from revision 2: read after 1/,
    );
    expect((await store.readAuditStream('s-1', 1, 10)).events.map((e) => e.revision)).toEqual([2, 3, 4]);
    await expect(store.auditLog({ streamId: 's-1' })).rejects.toBeInstanceOf(UnsupportedRead);
    await store.deleteStream('s-1');
    await expect(store.readAuditStream('s-1', 1, 10)).rejects.toThrow(
      /no longer serves the events of s-1 from revision 2 on/,
    );
  });
});

describe('auditTime', () => {
  it("writes a time as PostgreSQL's audit lines do: UTC, the fraction's trailing zeros left out", () => {
    expect(auditTime(new Date('2026-12-07T18:11:02.123Z'))).toBe('2026-12-07T18:11:02.123Z');
    expect(auditTime(new Date('2026-12-07T18:11:02.120Z'))).toBe('2026-12-07T18:11:02.12Z');
    expect(auditTime(new Date('2026-12-07T18:11:00.000Z'))).toBe('2026-12-07T18:11:00Z');
    expect(auditTime(new Date('2026-12-07T18:10:00.100Z'))).toBe('2026-12-07T18:10:00.1Z');
  });
});
