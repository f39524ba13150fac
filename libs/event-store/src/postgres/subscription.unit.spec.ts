import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, START, type Checkpoint } from '../checkpoint.js';
import type { ReadAllOptions, ReadAllPage, RecordedEvent } from '../types.js';
import type { TailRead } from './log-tail.js';
import { HELD_RECHECK_MS, Subscriptions, type Wakeups } from './subscription.js';

const at = (n: number): Checkpoint => encodeCheckpoint(BigInt(n), 0n);

function recorded(n: number): RecordedEvent {
  return {
    eventId: `e${n}`,
    type: n % 2 === 0 ? 'Even' : 'Odd',
    schemaVersion: 1,
    data: {},
    metadata: { actorId: 'x', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
    streamId: 's-1',
    streamRevision: n - 1,
    globalPosition: at(n),
    recordedAt: new Date(0),
  };
}

/**
 * A log of events 1..n as the reader sees it (the horizon is after the last), whose reads
 * say `held` as scripted, and news of commits whose waits are recorded. After `maxWaits`
 * waits the subscription is aborted.
 */
function fakeSource(options: {
  events?: number;
  held?: boolean[];
  pollIntervalMs?: number;
  maxWaits?: number;
  /** Waits run their time out (a poll), rather than ending at once. */
  sleeps?: boolean;
}) {
  const controller = new AbortController();
  const fake = {
    log: Array.from({ length: options.events ?? 0 }, (_, i) => recorded(i + 1)),
    reads: [] as ReadAllOptions[],
    waits: [] as number[],
    closed: false,
    signal: controller.signal,
    wakeups: {
      generation: 0,
      wait: (timeoutMs: number): Promise<void> => {
        fake.waits.push(timeoutMs);
        if (fake.waits.length >= (options.maxWaits ?? 1)) controller.abort();
        return options.sleeps ? new Promise((resolve) => setTimeout(resolve, timeoutMs)) : Promise.resolve();
      },
    } satisfies Wakeups,
    readPage: (read: ReadAllOptions): Promise<TailRead> => {
      fake.reads.push(read);
      const from = read.from ?? START;
      const limit = read.limit ?? 1_000;
      const after = fake.log.filter((e) => e.globalPosition > from);
      const matching = after.filter((e) => !read.filter?.eventTypes || read.filter.eventTypes.includes(e.type));
      const events = matching.slice(0, limit);
      const full = events.length === limit;
      const head = fake.log.at(-1)?.globalPosition ?? START;
      const checkpoint = full ? events.at(-1)!.globalPosition : head > from ? head : from;
      return Promise.resolve({
        page: { events, checkpoint },
        held: options.held?.shift() ?? false,
        caughtUp: !full,
      });
    },
  };
  const subscriptions = new Subscriptions({
    readPage: fake.readPage,
    wakeups: fake.wakeups,
    pollIntervalMs: options.pollIntervalMs ?? 50,
    closed: () => fake.closed,
  });
  return { fake, subscriptions };
}

async function collect(pages: AsyncIterable<ReadAllPage>): Promise<ReadAllPage[]> {
  const seen: ReadAllPage[] = [];
  for await (const page of pages) seen.push(page);
  return seen;
}

describe('Subscriptions', () => {
  it('catches up in pages of its limit, each event once and in order, each page ending at its last event', async () => {
    const { fake, subscriptions } = fakeSource({ events: 5 });
    const pages = await collect(subscriptions.follow({ limit: 2, signal: fake.signal }));
    expect(pages.flatMap((p) => p.events.map((e) => e.eventId))).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(pages.map((p) => p.checkpoint)).toEqual([at(2), at(4), at(5)]);
  });

  it('starts after the checkpoint it is given', async () => {
    const { fake, subscriptions } = fakeSource({ events: 5 });
    const pages = await collect(subscriptions.follow({ from: at(3), signal: fake.signal }));
    expect(pages.flatMap((p) => p.events.map((e) => e.eventId))).toEqual(['e4', 'e5']);
  });

  it('yields a page without events when only its checkpoint moved past events its filter skips', async () => {
    const { fake, subscriptions } = fakeSource({ events: 3 });
    const pages = await collect(subscriptions.follow({ filter: { eventTypes: ['Nothing'] }, signal: fake.signal }));
    expect(pages).toEqual([{ events: [], checkpoint: at(3) }]);
  });

  it('yields nothing while neither events came nor its checkpoint moved', async () => {
    const { fake, subscriptions } = fakeSource({ events: 0, maxWaits: 3 });
    const pages = await collect(subscriptions.follow({ signal: fake.signal }));
    expect(pages).toEqual([]);
    expect(fake.waits).toHaveLength(3);
  });

  it('waits for news as long as the poll interval when nothing waits behind a running transaction', async () => {
    const { fake, subscriptions } = fakeSource({ events: 1, pollIntervalMs: 50, maxWaits: 3 });
    await collect(subscriptions.follow({ signal: fake.signal }));
    expect(fake.waits).toEqual([50, 50, 50]);
  });

  it('looks again soon while committed events wait behind a running transaction, backing off up to the poll interval', async () => {
    const held = Array.from({ length: 10 }, () => true);
    const { fake, subscriptions } = fakeSource({ events: 1, held, pollIntervalMs: 50, maxWaits: 6 });
    await collect(subscriptions.follow({ signal: fake.signal }));
    expect(fake.waits).toEqual([HELD_RECHECK_MS, 10, 20, 40, 50, 50]);
  });

  it('starts its back-off again from a short recheck once a read found nothing held', async () => {
    const { fake, subscriptions } = fakeSource({
      events: 1,
      held: [true, true, true, false, true],
      pollIntervalMs: 50,
      maxWaits: 4,
      // The poll after the read that found nothing held reads again only once its interval passed.
      sleeps: true,
    });
    await collect(subscriptions.follow({ signal: fake.signal }));
    // The first read (on its own) and the tail's reads: held, held, not held, held.
    expect(fake.waits).toEqual([HELD_RECHECK_MS, 10, 50, HELD_RECHECK_MS]);
  });

  it('ends when the store closes', async () => {
    const { fake, subscriptions } = fakeSource({ events: 2 });
    const pages: ReadAllPage[] = [];
    for await (const page of subscriptions.follow({})) {
      pages.push(page);
      fake.closed = true;
    }
    expect(pages).toHaveLength(1);
  });

  it('refuses a bad limit when iterated', async () => {
    const { subscriptions } = fakeSource({});
    await expect(collect(subscriptions.follow({ limit: 0 }))).rejects.toThrow(/limit/);
  });
});
