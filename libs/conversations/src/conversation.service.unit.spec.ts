/**
 * ConversationService over the in-memory store, with people faked: the fast counterpart of
 * conversation.service.int.spec.ts for what does not depend on PostgreSQL (batching, retried
 * sends, blocks, catching up). Another API instance is another service on an instance
 * connected to the same store (`connect`).
 */
import { compareCheckpoints, InMemoryEventStore, StreamNotFound } from '@herald/event-store';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConversationService, directConversationId, streamOf, type People } from './conversation.service.js';
import { contextOf, sendOf } from './conversation.testing.js';
import type { ConversationCommand } from './domain/decide.js';
import { ConversationError } from './domain/errors.js';

/** Who registered, and who blocked whom: what identity would answer. */
class FakePeople implements People {
  private readonly registered = new Set<string>();
  private readonly blocks = new Set<string>();

  register(...userIds: string[]): string[] {
    for (const id of userIds) this.registered.add(id);
    return userIds;
  }

  block(blockerId: string, blockedId: string): void {
    this.blocks.add(`${blockerId} ${blockedId}`);
  }

  exists(userId: string): Promise<boolean> {
    return Promise.resolve(this.registered.has(userId));
  }

  hasBlocked(blockerId: string, blockedId: string): Promise<boolean> {
    return Promise.resolve(this.blocks.has(`${blockerId} ${blockedId}`));
  }
}

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);
const context = contextOf;
const send = sendOf;
const createGroup = (service: ConversationService, id: string, ownerId: string, memberIds: string[]) =>
  service.execute(
    id,
    { type: 'CreateGroup', actorId: ownerId, conversationId: id, name: 'g', memberIds },
    context(ownerId),
  );
const startDirect = (service: ConversationService, actorId: string, otherUserId: string) => {
  const id = directConversationId(actorId, otherUserId);
  const command: ConversationCommand = { type: 'StartDirectConversation', actorId, conversationId: id, otherUserId };
  return service.execute(id, command, context(actorId));
};
const typesIn = async (store: InMemoryEventStore, id: string) =>
  (await store.readStream(streamOf(id))).map((e) => e.type);
const textsIn = async (store: InMemoryEventStore, id: string) =>
  (await store.readStream(streamOf(id))).flatMap((e) =>
    e.type === 'MessageSent' ? [(e.data as { text: string }).text] : [],
  );

/** A store, people who all registered, and a service: one API instance. */
function setUp() {
  const store = new InMemoryEventStore();
  const people = new FakePeople();
  const [owner, bob, cy] = people.register(randomUUID(), randomUUID(), randomUUID()) as [string, string, string];
  const service = new ConversationService(store, people);
  /** Another API instance: its own cache, the same events. */
  const instance = (withheldIdKey?: string) =>
    new ConversationService(store.connect(), people, undefined, withheldIdKey);
  return { store, people, owner, bob, cy, service, instance };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('conversation service (in memory)', () => {
  it('sends to one conversation made at once are written in the order made, with consecutive seqs: those queued behind the first in one append', async () => {
    const { store, owner, bob, service } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    // Let the drain that wrote the group end (it answers before it looks for more).
    await new Promise((resolve) => setImmediate(resolve));
    const append = vi.spyOn(store, 'append');
    const sends = range(5).map((k) => send(bob, `c-${k}`, `m${k}`));
    const outcomes = await Promise.all(sends.map((command) => service.execute(id, command, context(bob))));
    expect(outcomes.map((o) => [o.seq, o.messageId])).toEqual(sends.map((c, k) => [k + 1, c.messageId]));
    expect(append.mock.calls.map(([, events, expected]) => [events.length, expected])).toEqual([
      [1, 0],
      [4, 1],
    ]);
    // One append, one checkpoint: its last event's, which every send of it waits for.
    expect(new Set(outcomes.slice(1).map((o) => o.checkpoint)).size).toBe(1);
    expect(await textsIn(store, id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('a command refused in a batch is answered its error alone: the rest of the batch is written with consecutive seqs', async () => {
    const { store, owner, bob, cy, service } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    await new Promise((resolve) => setImmediate(resolve));
    const append = vi.spyOn(store, 'append');
    const first = service.execute(id, send(bob, 'c-0', 'm0'), context(bob));
    const refused = service.execute(id, send(cy, 'c-1', 'not a member'), context(cy));
    const rest = [
      service.execute(id, send(bob, 'c-2', 'm2'), context(bob)),
      service.execute(id, send(owner, 'c-3', 'm3'), context(owner)),
    ];
    await expect(refused).rejects.toThrow(ConversationError);
    await expect(refused).rejects.toMatchObject({ code: 'CONVERSATION.NOT_FOUND' });
    expect((await Promise.all([first, ...rest])).map((o) => o.seq)).toEqual([1, 2, 3]);
    // The first went alone; the refused one was decided in the batch queued behind it.
    expect(append.mock.calls.map(([, events]) => events.length)).toEqual([1, 2]);
    expect(await textsIn(store, id)).toEqual(['m0', 'm2', 'm3']);
  });

  it('concurrent sends through three instances get a gap-free seq each', async () => {
    const { store, owner, people, service, instance } = setUp();
    const members = people.register(...range(6).map(() => randomUUID()));
    const id = randomUUID();
    await createGroup(service, id, owner, members);
    const services = [service, instance(), instance()];
    const outcomes = await Promise.all(
      members.flatMap((m, i) =>
        range(5).map((k) => services[(i + k) % 3]!.execute(id, send(m, `c-${k}`, `m${i}-${k}`), context(m))),
      ),
    );
    expect(outcomes.map((o) => o.seq).sort((x, y) => x - y)).toEqual(range(30).map((i) => i + 1));
    expect((await store.readStream(streamOf(id))).map((e) => e.streamRevision)).toEqual(range(31));
  });

  it('a retried send answers the message id and seq of the first, a checkpoint at or after it, and writes nothing, through the same instance or another', async () => {
    const { store, owner, bob, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    const first = await service.execute(id, send(bob, 'client-1'), context(bob));
    const append = vi.spyOn(store, 'append');
    const again = await service.execute(id, send(bob, 'client-1'), context(bob));
    // Through another instance: no state of this process answers it.
    const elsewhere = await instance().execute(id, send(bob, 'client-1'), context(bob));
    const repeated = { conversationId: id, seq: 1, messageId: first.messageId, events: [] };
    expect([again, elsewhere]).toMatchObject([repeated, repeated]);
    for (const retry of [again, elsewhere]) {
      expect(compareCheckpoints(retry.checkpoint!, first.checkpoint!)).toBeGreaterThanOrEqual(0);
    }
    expect(append).not.toHaveBeenCalled();
    expect(await typesIn(store, id)).toEqual(['GroupCreated', 'MessageSent']);
  });

  it('racing retries of one send through three instances write it once, and all answer its seq and message id', async () => {
    const { store, owner, bob, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    const services = [service, instance(), instance()];
    const outcomes = await Promise.all(
      range(10).map((i) => services[i % 3]!.execute(id, send(bob, 'client-1'), context(bob))),
    );
    expect(new Set(outcomes.map((o) => `${o.seq} ${o.messageId}`)).size).toBe(1);
    expect(outcomes.filter((o) => o.events.length > 0)).toHaveLength(1);
    expect(await typesIn(store, id)).toEqual(['GroupCreated', 'MessageSent']);
  });

  it("a blocked user's send is answered as a write is and withheld: nothing is written, and a retry through another instance answers the same message id", async () => {
    const { store, people, owner: ada, bob, service, instance } = setUp();
    const id = directConversationId(ada, bob);
    await startDirect(service, bob, ada);
    people.block(ada, bob);
    const append = vi.spyOn(store, 'append');
    const withheld = await service.execute(id, send(bob, 'client-1'), context(bob));
    expect(withheld).toMatchObject({ conversationId: id, seq: 0, events: [{ type: 'MessageSent' }] });
    expect(withheld.checkpoint).toBe(await store.headCheckpoint());
    expect(append).not.toHaveBeenCalled();
    // Instances share the key of withheld ids (derived from the server secret).
    const key = 'withheld-id-key';
    const [once, retried] = await Promise.all([
      instance(key).execute(id, send(bob, 'client-2'), context(bob)),
      instance(key).execute(id, send(bob, 'client-2'), context(bob)),
    ]);
    expect(retried.messageId).toBe(once.messageId);
    expect(await typesIn(store, id)).toEqual(['DirectConversationStarted']);
    // The one who blocked still writes: the next seq is theirs.
    expect((await service.execute(id, send(ada, 'client-1'), context(ada))).seq).toBe(1);
  });

  it('a group naming a user who never registered is refused with USER.NOT_FOUND, and nothing is written', async () => {
    const { store, owner, bob, service } = setUp();
    const id = randomUUID();
    const stranger = randomUUID();
    const refused = createGroup(service, id, owner, [bob, stranger]);
    await expect(refused).rejects.toThrow(ConversationError);
    await expect(refused).rejects.toMatchObject({ code: 'USER.NOT_FOUND', message: `No such user: ${stranger}` });
    await expect(store.readStream(streamOf(id))).rejects.toThrow(StreamNotFound);
  });

  it('one direct conversation per pair, whoever starts it, through two instances at once', async () => {
    const { store, owner: ada, bob, service, instance } = setUp();
    const outcomes = await Promise.all([startDirect(service, ada, bob), startDirect(instance(), bob, ada)]);
    expect(outcomes.map((o) => [o.conversationId, o.seq])).toEqual([
      [directConversationId(ada, bob), 0],
      [directConversationId(ada, bob), 0],
    ]);
    expect(await typesIn(store, directConversationId(bob, ada))).toEqual(['DirectConversationStarted']);
  });

  it('a new name with new details is one decision, written in one append', async () => {
    const { store, owner, service } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, []);
    const append = vi.spyOn(store, 'append');
    const outcome = await service.execute(
      id,
      { type: 'ChangeGroup', actorId: owner, name: 'renamed', description: 'about', announcement: null },
      context(owner),
    );
    expect(append.mock.calls.map(([, events]) => events.map((e) => e.type))).toEqual([
      ['GroupRenamed', 'GroupDetailsChanged'],
    ]);
    expect(outcome.seq).toBe(2);
  });

  it('a member who joined through another instance may send through one whose cached state predates the join', async () => {
    const { store, owner, cy, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, []);
    const other = instance();
    await other.execute(id, { type: 'InviteMember', actorId: owner, userId: cy }, context(owner));
    await other.execute(id, { type: 'AcceptInvitation', actorId: cy }, context(cy));
    const sent = await service.execute(id, send(cy, 'c-1', 'hello'), context(cy));
    expect(sent.seq).toBe(3);
    expect(await textsIn(store, id)).toEqual(['hello']);
  });

  it('a reaction added through another instance is removed through one whose cached state predates it', async () => {
    const { store, owner, bob, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    const { messageId } = await service.execute(id, send(owner, 'c-1'), context(owner));
    await instance().execute(id, { type: 'AddReaction', actorId: bob, messageId, emoji: '👍' }, context(bob));
    const removed = await service.execute(
      id,
      { type: 'RemoveReaction', actorId: bob, messageId, emoji: '👍' },
      context(bob),
    );
    expect(removed.seq).toBe(3);
    expect(await typesIn(store, id)).toEqual(['GroupCreated', 'MessageSent', 'ReactionAdded', 'ReactionRemoved']);
  });

  it('state() catches up with what another instance wrote, reading only what is new', async () => {
    const { store, owner, bob, cy, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    await instance().execute(id, { type: 'InviteMember', actorId: owner, userId: cy }, context(owner));
    const reads = vi.spyOn(store, 'readStream');
    const state = await service.state(id);
    expect([state.seq, state.invited.has(cy)]).toEqual([1, true]);
    expect(reads.mock.calls.map(([stream, options]) => [stream, options?.from])).toEqual([[streamOf(id), 1]]);
  });

  it('concurrent state() calls for one conversation share one read', async () => {
    const { store, owner, service } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, []);
    const reads = vi.spyOn(store, 'readStream');
    const states = await Promise.all(range(10).map(() => service.state(id)));
    expect(new Set(states).size).toBe(1);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('freshState() answers from a read that starts after the call, never one already on its way; its callers share it', async () => {
    const { store, owner, bob, cy, service, instance } = setUp();
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    // A read on its way (started before the invitation below), held until the test lets it go.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const read = store.readStream.bind(store);
    const reads = vi.spyOn(store, 'readStream').mockImplementation(async (...args) => {
      const events = await read(...args);
      if (reads.mock.calls.length === 1) await held;
      return events;
    });
    const early = service.state(id);
    await new Promise((resolve) => setTimeout(resolve, 0));
    reads.mockClear();
    await instance().execute(id, { type: 'InviteMember', actorId: owner, userId: cy }, context(owner));
    const fresh = Promise.all(range(5).map(() => service.freshState(id)));
    letGo();
    // The early read missed the invitation; the fresh ones have it, from one read after it.
    expect((await early).invited.has(cy)).toBe(false);
    expect((await fresh).map((state) => state.invited.has(cy))).toEqual(range(5).map(() => true));
    expect(reads.mock.calls.length).toBe(1);
    // With no read on its way, freshState() is state().
    expect((await service.freshState(id)).seq).toBe(1);
  });

  it('a cache too small for two conversations evicts one and reads it again: answers stay right', async () => {
    const { owner, bob, people } = setUp();
    const store = new InMemoryEventStore();
    // Room for one small group's state (owner, bob, and a few messages), not two.
    const service = new ConversationService(store, people, 6);
    const ids = [randomUUID(), randomUUID()];
    for (const id of ids) await createGroup(service, id, owner, [bob]);
    for (const k of range(3)) {
      for (const id of ids) expect((await service.execute(id, send(bob, `c-${k}`), context(bob))).seq).toBe(k + 1);
    }
    // A retry of the first send is still recognized after its state was evicted and read again.
    expect(await service.execute(ids[0]!, send(bob, 'c-0'), context(bob))).toMatchObject({ seq: 1, events: [] });
    expect((await service.state(ids[1]!)).messages.size).toBe(3);
  });

  it('conversations that do not exist are not cached: naming many of them evicts no real state', async () => {
    const { store, owner, bob, people } = setUp();
    // Room for this group's state, not much more.
    const service = new ConversationService(store, people, 6);
    const id = randomUUID();
    await createGroup(service, id, owner, [bob]);
    for (const _ of range(20)) expect((await service.state(randomUUID())).members.size).toBe(0);
    const reads = vi.spyOn(store, 'readStream');
    expect((await service.state(id)).members.has(bob)).toBe(true);
    // Still cached: only what came after its seq 0 is read, not the stream from its start.
    expect(reads.mock.calls.map(([stream, options]) => [stream, options?.from])).toEqual([[streamOf(id), 1]]);
  });
});
