import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, type Checkpoint } from '../checkpoint.js';
import type { RecordedEvent } from '../types.js';
import { LogTail, type Cursor, type TailRead } from './log-tail.js';

const at = (n: number): Checkpoint => encodeCheckpoint(BigInt(n), 0n);

function recorded(n: number, streamId: string): RecordedEvent {
  return {
    eventId: `e${n}`,
    type: streamId.startsWith('a-') ? 'A' : 'B',
    schemaVersion: 1,
    data: {},
    metadata: { actorId: 'x', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
    streamId,
    streamRevision: 0,
    globalPosition: at(n),
    recordedAt: new Date(0),
  };
}

/** A log of events 1..n whose reads are counted and can be held open. */
function fakeLog(): { log: RecordedEvent[]; reads: number; read: (from: Checkpoint) => Promise<TailRead> } {
  const fake = {
    log: [] as RecordedEvent[],
    reads: 0,
    read: async (from: Checkpoint): Promise<TailRead> => {
      fake.reads++;
      await Promise.resolve();
      const events = fake.log.filter((e) => e.globalPosition > from).slice(0, 3);
      const head = fake.log.length === 0 ? from : fake.log[fake.log.length - 1]!.globalPosition;
      const caughtUp = events.length < 3;
      return {
        page: {
          events,
          checkpoint: caughtUp ? (head > from ? head : from) : events[events.length - 1]!.globalPosition,
        },
        held: false,
        caughtUp,
      };
    },
  };
  return fake;
}

describe('LogTail', () => {
  it('starts where a caught-up cursor stands and serves every cursor within it from one read', async () => {
    const fake = fakeLog();
    const tail = new LogTail(fake.read, () => 0, 100);
    const a: Cursor = { from: at(0) };
    const b: Cursor = { from: at(0) };
    tail.follow(a);
    tail.follow(b);
    expect(tail.place(a)).toBe('behind'); // no tail yet, and a has not caught up
    expect(tail.place(a, true)).toBe('inside');
    expect(tail.place(b)).toBe('inside');
    fake.log.push(recorded(1, 'a-1'), recorded(2, 'b-1'));
    await Promise.all([tail.extend(), tail.extend()]);
    expect(fake.reads).toBe(1);
    expect(tail.take(a, 10, undefined).page.events.map((e) => e.eventId)).toEqual(['e1', 'e2']);
    const filtered = tail.take(b, 10, { eventTypes: ['B'] });
    expect(filtered.page).toMatchObject({ checkpoint: at(2) });
    expect(filtered.page.events.map((e) => e.eventId)).toEqual(['e2']);
    expect(tail.state).toMatchObject({ caughtUp: true });
  });

  it('pages by the limit, and a cursor ahead of the tail extends it while another is within', async () => {
    const fake = fakeLog();
    const tail = new LogTail(fake.read, () => 0, 100);
    const a: Cursor = { from: at(0) };
    const b: Cursor = { from: at(5) };
    tail.follow(a);
    tail.follow(b);
    expect(tail.place(a, true)).toBe('inside');
    for (let n = 1; n <= 5; n++) fake.log.push(recorded(n, 'a-1'));
    expect(tail.place(b)).toBe('ahead');
    await tail.extend(); // 1..3: not caught up
    expect(tail.place(b)).toBe('ahead');
    await tail.extend(); // 4..5
    expect(tail.place(b)).toBe('inside');
    const first = tail.take(a, 2, undefined);
    expect(first).toMatchObject({ atEnd: false, page: { checkpoint: at(2) } });
    a.from = first.page.checkpoint;
    expect(tail.take(a, 10, undefined).page.events.map((e) => e.eventId)).toEqual(['e3', 'e4', 'e5']);
  });

  it('drops its oldest events beyond its size, leaving a slow cursor behind, and itself when nobody follows', async () => {
    const fake = fakeLog();
    const tail = new LogTail(fake.read, () => 0, 4);
    const slow: Cursor = { from: at(0) };
    tail.follow(slow);
    tail.place(slow, true);
    for (let n = 1; n <= 6; n++) fake.log.push(recorded(n, 'a-1'));
    await tail.extend();
    await tail.extend();
    expect(tail.place(slow)).toBe('behind');
    const late: Cursor = { from: at(2) };
    tail.follow(late);
    expect(tail.place(late)).toBe('inside');
    expect(tail.take(late, 10, undefined).page.events.map((e) => e.eventId)).toEqual(['e3', 'e4', 'e5', 'e6']);
    tail.leave(slow);
    tail.leave(late);
    expect(tail.place({ from: at(6) })).toBe('behind');
  });

  it('shares a recent read among subscribers that poll: once per interval, unless a notification came or events were held', async () => {
    const fake = fakeLog();
    let generation = 0;
    const tail = new LogTail(fake.read, () => generation, 100);
    const a: Cursor = { from: at(0) };
    const b: Cursor = { from: at(0) };
    tail.follow(a);
    tail.follow(b);
    expect(tail.place(a, true)).toBe('inside');
    await tail.extend();
    expect(fake.reads).toBe(1);
    const readAt = Date.now();
    // b's poll timer runs out just after a's read: the read is shared.
    await tail.extend(250, readAt + 100);
    expect(fake.reads).toBe(1);
    // A poll after the interval reads.
    await tail.extend(250, readAt + 300);
    expect(fake.reads).toBe(2);
    // A notification since the newest read: it reads at once.
    generation++;
    fake.log.push(recorded(1, 'a-1'));
    await tail.extend(250, Date.now());
    expect(fake.reads).toBe(3);
    expect(tail.take(a, 10, undefined).page.events.map((e) => e.eventId)).toEqual(['e1']);
    // Not a poll (no interval given): it reads.
    await tail.extend();
    expect(fake.reads).toBe(4);
  });
});
