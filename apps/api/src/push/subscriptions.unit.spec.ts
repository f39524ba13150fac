import { encodeCheckpoint, type RecordedEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { FairGate } from './budgets.js';
import { PushClients } from './push-client.js';
import { fakeClient } from './push.testing.js';
import { Subscriptions } from './subscriptions.js';

const group = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const ann = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const bob = '7d3f1c2e-9a4b-4c5d-8e6f-1a2b3c4d5e6f';
const admin = '2c4e6a8b-1d3f-4a5c-9e7b-0f1e2d3c4b5a';

/** The event at `seq` of the group's stream: `userId` kicked by the admin. */
const kicked = (seq: number, userId: string): RecordedEvent => ({
  eventId: `00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`,
  type: 'MemberKicked',
  schemaVersion: 1,
  data: { conversationId: group, userId, kickedBy: admin },
  metadata: { actorId: admin, correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
  streamId: streamIdOf('conversation', group),
  streamRevision: seq,
  globalPosition: encodeCheckpoint(BigInt(seq), 0n),
  recordedAt: new Date(0),
});

/** A node whose store holds the group's `stream`, whose members are `members`; sockets record what they receive. */
function node(stream: RecordedEvent[], members: Set<string>, fanout?: { chunk: number; active: Set<string> }) {
  const clients = new PushClients();
  const logged: Record<string, unknown>[] = [];
  /** A large conversation's next chunks, run by the test (setImmediate in the app). */
  const later: (() => void)[] = [];
  const subscriptions = new Subscriptions({
    ...(fanout
      ? {
          chunk: fanout.chunk,
          active: (userId: string) => fanout.active.has(userId),
          later: (work: () => void) => later.push(work),
        }
      : {}),
    membership: (conversationId, userId) =>
      Promise.resolve(
        conversationId === group && members.has(userId) ? { seq: stream.length - 1, peer: undefined } : undefined,
      ),
    store: {
      // The feed reads forwards from a revision, as it does from the store.
      readStream: (_, options) =>
        Promise.resolve(stream.filter((e) => e.streamRevision >= Number(options?.from)).slice(0, options?.limit)),
    },
    clients,
    gate: new FairGate(4),
    logger: { emit: (_level, _message, _context, _stack, fields) => logged.push(fields ?? {}) },
  });
  const socket = (userId: string) => {
    const { client, received } = fakeClient(userId);
    clients.opened(client);
    return { client, received };
  };
  return { subscriptions, clients, socket, logged, later };
}

const summary = (frames: readonly Record<string, unknown>[]) => frames.map((f) => [f.type, f.seq ?? f.code].join(' '));

describe('subscriptions: membership first', () => {
  it('a member is subscribed, caught up and told synced; live events then reach them', async () => {
    const stream = [kicked(0, admin), kicked(1, admin)];
    const { subscriptions, socket } = node(stream, new Set([ann]));
    const a = socket(ann);
    expect(await subscriptions.subscribe(a.client, group, 0)).toBe(true);
    subscriptions.live(group, kicked(2, admin));
    expect(summary(a.received)).toEqual(['event 1', 'synced 1', 'event 2']);
  });

  it('an outsider is refused as not found, joins no subscriber set, and gets no live event', async () => {
    const { subscriptions, socket, clients } = node([kicked(0, admin)], new Set([ann]));
    const b = socket(bob);
    expect(await subscriptions.subscribe(b.client, group, -1)).toBe(false);
    subscriptions.live(group, kicked(1, admin));
    expect(summary(b.received)).toEqual(['error CONVERSATION.NOT_FOUND']);
    expect(clients.inConversation(group)).toEqual([]);
  });

  it('a socket that is no member any more loses the subscription it had when it syncs again', async () => {
    const members = new Set([ann]);
    const { subscriptions, socket, clients } = node([kicked(0, admin)], members);
    const a = socket(ann);
    await subscriptions.subscribe(a.client, group, 0);
    members.delete(ann);
    expect(await subscriptions.subscribe(a.client, group, 0)).toBe(false);
    expect(clients.inConversation(group)).toEqual([]);
    expect(a.client.subscriptions.size).toBe(0);
  });

  it('syncing a conversation again replaces its subscription: live events are sent once', async () => {
    const { subscriptions, socket, clients } = node([kicked(0, admin)], new Set([ann]));
    const a = socket(ann);
    await subscriptions.subscribe(a.client, group, 0);
    await subscriptions.subscribe(a.client, group, 0);
    subscriptions.live(group, kicked(1, admin));
    expect(summary(a.received)).toEqual(['synced 0', 'synced 0', 'event 1']);
    expect(clients.inConversation(group)).toEqual([a.client]);
  });

  it("a member's kick reaches them and ends their subscription; the others go on", async () => {
    const { subscriptions, socket, clients } = node([kicked(0, admin)], new Set([ann, bob]));
    const a = socket(ann);
    const b = socket(bob);
    await subscriptions.subscribe(a.client, group, 0);
    await subscriptions.subscribe(b.client, group, 0);
    subscriptions.live(group, kicked(1, ann));
    subscriptions.live(group, kicked(2, admin));
    expect(summary(a.received)).toEqual(['synced 0', 'event 1']);
    expect(summary(b.received)).toEqual(['synced 0', 'event 1', 'event 2']);
    expect(clients.inConversation(group)).toEqual([b.client]);
  });

  it('refusals are logged once per interval per socket, with how many were not', async () => {
    const { subscriptions, socket, logged } = node([kicked(0, admin)], new Set());
    const b = socket(bob);
    for (let i = 0; i < 3; i++) await subscriptions.subscribe(b.client, group, 0);
    expect(logged).toEqual([{ userId: bob, correlationId: `socket of ${bob}`, conversationId: group }]);
    expect(summary(b.received)).toHaveLength(3);
  });
});

describe('subscriptions: a conversation with more subscribers than a chunk', () => {
  it('its live events reach every member in chunks, active users first, once each and in seq order', async () => {
    const users = Array.from(
      { length: 7 },
      (_, i) => `00000000-0000-4000-8000-0000000000${String(i).padStart(2, '0')}`,
    );
    const active = new Set([users[4]!, users[6]!]);
    const { subscriptions, socket, later } = node([kicked(0, admin)], new Set(users), { chunk: 2, active });
    const sockets = users.map((userId) => ({ userId, ...socket(userId) }));
    for (const s of sockets) await subscriptions.subscribe(s.client, group, 0);
    const order: string[] = [];
    subscriptions.live(group, kicked(1, admin));
    // Nothing yet: the fan-out runs on later turns; an event meanwhile waits for it.
    expect(sockets.every((s) => summary(s.received).join() === 'synced 0')).toBe(true);
    subscriptions.live(group, kicked(2, admin));
    while (later.length > 0) {
      later.shift()!();
      for (const s of sockets) if (s.received.length === 2 && !order.includes(s.userId)) order.push(s.userId);
    }
    for (const s of sockets) expect(summary(s.received)).toEqual(['synced 0', 'event 1', 'event 2']);
    expect(new Set(order.slice(0, 2))).toEqual(active);
  });
});
