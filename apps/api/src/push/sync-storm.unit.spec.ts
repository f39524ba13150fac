import { encodeCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FairGate } from './budgets.js';
import { PushClients, type PushClient } from './push-client.js';
import { fakeClient } from './push.testing.js';
import { Subscriptions } from './subscriptions.js';

const SLOTS = 4;
const CONVERSATIONS = 10;
const conversationId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

const admin = '2c4e6a8b-1d3f-4a5c-9e7b-0f1e2d3c4b5a';
const other = '7d3f1c2e-9a4b-4c5d-8e6f-1a2b3c4d5e6f';

/** An event at `seq` of conversation `i` (one that concerns none of the sockets' users). */
const message = (i: number, seq: number): RecordedEvent => ({
  eventId: `10000000-0000-4000-8000-${String(i * 1000 + seq).padStart(12, '0')}`,
  type: 'MemberKicked',
  schemaVersion: 1,
  data: { conversationId: conversationId(i), userId: other, kickedBy: admin },
  metadata: { actorId: admin, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
  streamId: streamIdOf('conversation', conversationId(i)),
  streamRevision: seq,
  globalPosition: encodeCheckpoint(BigInt(i * 1000 + seq), 0n),
  recordedAt: new Date(0),
});

/**
 * A node whose CONVERSATIONS conversations each hold `length` events, everyone a member; its
 * reads (membership checks and catch-up pages) answer a turn later, and are counted: in
 * flight now, and the most at once.
 */
function node(length: number, duringMembership?: (subscriptions: Subscriptions) => void) {
  const clients = new PushClients();
  const gate = new FairGate(SLOTS);
  const reads = { now: 0, most: 0, total: 0, mostQueued: 0 };
  const read = async <T>(answer: () => T): Promise<T> => {
    reads.now++;
    reads.total++;
    reads.most = Math.max(reads.most, reads.now);
    reads.mostQueued = Math.max(reads.mostQueued, gate.queued);
    await turn();
    reads.now--;
    return answer();
  };
  const streams = Array.from({ length: CONVERSATIONS }, (_, i) => Array.from({ length }, (_, seq) => message(i, seq)));
  const subscriptions: Subscriptions = new Subscriptions({
    membership: () =>
      read(() => {
        duringMembership?.(subscriptions);
        return { seq: length - 1, peer: undefined };
      }),
    store: {
      readStream: (streamId, options) =>
        read(() => {
          const stream = streams.find((s) => s[0]!.streamId === streamId)!;
          return stream.filter((e) => e.streamRevision >= Number(options?.from)).slice(0, options?.limit);
        }),
    },
    clients,
    gate,
    logger: { emit: () => undefined },
  });
  /** A socket of `userId` that syncs every conversation from `from`, one after another as the frame router does. */
  const sync = async (userId: string, from: number, done: string[]) => {
    const { client, received } = fakeClient(userId);
    clients.opened(client);
    for (let i = 0; i < CONVERSATIONS; i++) await subscriptions.subscribe(client, conversationId(i), from);
    done.push(userId);
    return { client, received };
  };
  return { sync, reads, gate, subscriptions };
}

const syncedOf = (received: readonly Record<string, unknown>[]) => received.filter((f) => f.type === 'synced').length;

describe('a reconnect storm: every socket syncing at once', () => {
  it('never has more reads in flight than the gate allows; the line holds one read per socket at most; every socket is synced', async () => {
    const { sync, reads } = node(40);
    const done: string[] = [];
    // 200 distinct users reconnect together, each 30 events behind in each of its 10 conversations.
    const storm = await Promise.all(Array.from({ length: 200 }, (_, u) => sync(`user${u}`, 9, done)));
    expect(reads.most).toBeLessThanOrEqual(SLOTS);
    expect(reads.mostQueued).toBeLessThanOrEqual(200);
    for (const { received } of storm) {
      expect(syncedOf(received)).toBe(CONVERSATIONS);
      // What each missed, in order, exactly once.
      expect(received.filter((f) => f.type === 'event').length).toBe(CONVERSATIONS * 30);
    }
    // A membership check and two pages (16 + 14 events) per conversation: no more.
    expect(reads.total).toBe(200 * CONVERSATIONS * 3);
  });

  it("a user's twenty sockets do not keep another user's one socket waiting behind all of theirs", async () => {
    const { sync } = node(1);
    const done: string[] = [];
    const hog = Array.from({ length: 20 }, () => sync('hog', 0, done));
    const victim: Promise<{ client: PushClient; received: Record<string, unknown>[] }> = sync('victim', 0, done);
    await Promise.all([...hog, victim]);
    // Served a read in turn with the hog: done long before the hog's last socket.
    expect(done.indexOf('victim')).toBeLessThan(5);
    expect(syncedOf((await victim).received)).toBe(CONVERSATIONS);
  });

  it('a socket that comes late in the storm is served in turn, not after the storm', async () => {
    const { sync } = node(1);
    const done: string[] = [];
    const storm = Array.from({ length: 100 }, (_, u) => sync(`user${u}`, 0, done));
    await turn();
    await turn();
    const late = sync('late', 0, done);
    await Promise.all([...storm, late]);
    // Every socket needs the same reads, and each user is served one read a round: the late
    // one ends with the storm's last, not a whole storm after it.
    expect(done.indexOf('late')).toBeGreaterThan(-1);
    expect(done.length - done.indexOf('late')).toBeLessThan(100);
  });

  it('a client that has the head is synced after the membership read alone, with no read of the stream', async () => {
    const { sync, reads } = node(40);
    const done: string[] = [];
    const storm = await Promise.all(Array.from({ length: 50 }, (_, u) => sync(`user${u}`, 39, done)));
    expect(reads.total).toBe(50 * CONVERSATIONS);
    for (const { received } of storm)
      expect(received.map((f) => [f.type, f.seq].join(' '))).toEqual(Array(CONVERSATIONS).fill('synced 39'));
  });

  it('an event committed while the membership is read reaches the client once, after the seq it has, with no read of the stream', async () => {
    let delivered = false;
    const { sync, reads } = node(40, (subscriptions) => {
      // The conversation's next event comes live while the check is on its way (once).
      if (delivered) return;
      delivered = true;
      subscriptions.live(conversationId(0), message(0, 40));
    });
    const { received } = await sync('ann', 39, []);
    expect(
      received.filter((f) => f.conversationId === conversationId(0)).map((f) => [f.type, f.seq].join(' ')),
    ).toEqual(['event 40', 'synced 40']);
    expect(reads.total).toBe(CONVERSATIONS);
  });
});
