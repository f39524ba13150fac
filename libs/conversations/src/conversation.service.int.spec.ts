import { PostgresEventStore } from '@herald/event-store';
import { range, testDatabaseUrl } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationService, directConversationId, streamOf } from './conversation.service.js';
import { contextOf, sendOf } from './conversation.testing.js';

let store: PostgresEventStore;
beforeAll(async () => {
  store = new PostgresEventStore({ connectionString: testDatabaseUrl(), poolSize: 8 });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
});

const context = contextOf;
const send = sendOf;

describe('conversation service (PostgreSQL)', () => {
  it('one direct conversation per pair, whoever starts it', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    expect(directConversationId(a, b)).toBe(directConversationId(b, a));
    const id = directConversationId(a, b);
    const service = new ConversationService(store);
    const started = { type: 'StartDirectConversation', conversationId: id } as const;
    await Promise.all([
      service.execute(id, { ...started, actorId: a, otherUserId: b }, context(a)),
      new ConversationService(store).execute(id, { ...started, actorId: b, otherUserId: a }, context(b)),
    ]);
    const events = await store.readStream(streamOf(id));
    expect(events.map((e) => e.type)).toEqual(['DirectConversationStarted']);
  });

  it('racing retries of one send write it once and all answer with its seq', async () => {
    const [owner, bob] = [randomUUID(), randomUUID()];
    const id = randomUUID();
    const first = new ConversationService(store);
    await first.execute(
      id,
      { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: [bob] },
      context(owner),
    );
    // Ten retries of one send, through three "API instances" with their own caches.
    const services = [first, new ConversationService(store), new ConversationService(store)];
    const outcomes = await Promise.all(
      range(10).map((i) => services[i % 3]!.execute(id, send(bob, 'client-1'), context(bob))),
    );
    expect(new Set(outcomes.map((o) => o.seq))).toEqual(new Set([1]));
    expect(outcomes.filter((o) => o.events.length > 0)).toHaveLength(1);
    const events = await store.readStream(streamOf(id));
    expect(events.map((e) => e.type)).toEqual(['GroupCreated', 'MessageSent']);
  });

  it('concurrent sends from many members get a gap-free seq each', async () => {
    const owner = randomUUID();
    const members = range(6).map(() => randomUUID());
    const id = randomUUID();
    const services = range(3).map(() => new ConversationService(store));
    await services[0]!.execute(
      id,
      { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: members },
      context(owner),
    );
    const outcomes = await Promise.all(
      members.flatMap((m, i) =>
        range(5).map((k) => services[(i + k) % 3]!.execute(id, send(m, `c-${k}`, `m${i}-${k}`), context(m))),
      ),
    );
    expect(outcomes.map((o) => o.seq).sort((x, y) => x - y)).toEqual(range(30).map((i) => i + 1));
    const events = await store.readStream(streamOf(id));
    expect(events.map((e) => e.streamRevision)).toEqual(range(31));
  });

  it('a cache too small for two conversations evicts one and reads it again: answers stay right', async () => {
    const [owner, bob] = [randomUUID(), randomUUID()];
    const ids = [randomUUID(), randomUUID()];
    // Room for one small group's state (owner, bob, and a few messages), not two.
    const service = new ConversationService(store, undefined, 6);
    for (const id of ids) {
      await service.execute(
        id,
        { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: [bob] },
        context(owner),
      );
    }
    for (const k of range(3)) {
      for (const id of ids) {
        const outcome = await service.execute(id, send(bob, `c-${k}`), context(bob));
        expect(outcome.seq).toBe(k + 1);
      }
    }
    // A retry of the first send is still recognized after its state was evicted and read again.
    const retry = await service.execute(ids[0]!, send(bob, 'c-0'), context(bob));
    expect(retry).toMatchObject({ seq: 1, events: [] });
    expect((await service.state(ids[1]!)).messages.size).toBe(3);
  });

  it('a send answers its message id; a retry of it answers the same one, with nothing written', async () => {
    const [owner, bob] = [randomUUID(), randomUUID()];
    const id = randomUUID();
    const service = new ConversationService(store);
    await service.execute(
      id,
      { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: [bob] },
      context(owner),
    );
    const first = await service.execute(id, send(bob, 'client-1'), context(bob));
    // Through another instance: no state of this process answers it.
    const retry = await new ConversationService(store).execute(id, send(bob, 'client-1'), context(bob));
    expect(first).toMatchObject({ seq: 1, messageId: expect.any(String) as string });
    expect(retry).toMatchObject({ conversationId: id, seq: 1, messageId: first.messageId, events: [] });
    // Nothing written, and a checkpoint at or after the first: a query given it reads the send.
    expect(retry.checkpoint! >= first.checkpoint!).toBe(true);
    expect((await store.readStream(streamOf(id))).length).toBe(2);
  });

  it('a new name with new details is one decision, written in one append', async () => {
    const owner = randomUUID();
    const id = randomUUID();
    const appends: string[][] = [];
    const counting = Object.create(store) as PostgresEventStore;
    counting.append = (streamId, events, expected) => {
      appends.push(events.map((e) => e.type));
      return store.append(streamId, events, expected);
    };
    const service = new ConversationService(counting);
    await service.execute(
      id,
      { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: [] },
      context(owner),
    );
    const outcome = await service.execute(
      id,
      { type: 'ChangeGroup', actorId: owner, name: 'renamed', description: 'about', announcement: null },
      context(owner),
    );
    expect(appends).toEqual([['GroupCreated'], ['GroupRenamed', 'GroupDetailsChanged']]);
    expect(outcome.seq).toBe(2);
  });

  it('ids of conversations that do not exist are not cached: naming many of them evicts no real state', async () => {
    const [owner, bob] = [randomUUID(), randomUUID()];
    const id = randomUUID();
    const reads: { streamId: string; from: unknown }[] = [];
    const counting = Object.create(store) as PostgresEventStore;
    counting.readStream = (streamId, options) => {
      reads.push({ streamId, from: options?.from });
      return store.readStream(streamId, options);
    };
    // Room for this group's state, not much more.
    const service = new ConversationService(counting, undefined, 6);
    await service.execute(
      id,
      { type: 'CreateGroup', actorId: owner, conversationId: id, name: 'g', memberIds: [bob] },
      context(owner),
    );
    for (const _ of range(20)) expect((await service.state(randomUUID())).members.size).toBe(0);
    reads.length = 0;
    expect((await service.state(id)).members.has(bob)).toBe(true);
    // Still cached: only what came after its seq 0 is read, not the stream from its start.
    expect(reads).toEqual([{ streamId: streamOf(id), from: 1 }]);
  });
});
