import { testEvent as event } from '@herald/testing';
import { describe, expect, it } from 'vitest';
import { EventStoreUnavailable } from '../errors.js';
import { describeEventStoreContract } from '../event-store.contract.js';
import { InMemoryEventStore } from './in-memory-event-store.js';

// Instances connected to one store share its events, as processes share one database
// (the contract's "several store instances").
describeEventStoreContract('in memory', () => {
  const shared = new InMemoryEventStore();
  return Promise.resolve({
    supportsFaults: true,
    uniqueEventIds: true,
    newStore: (faults) => Promise.resolve(shared.connect(faults)),
    tamper: (streamId, revision, part) =>
      Promise.resolve(
        shared.rewriteStoredEvent(streamId, revision, ({ data, metadata }) =>
          part === 'data'
            ? { data: { ...(data as object), forged: true }, metadata }
            : { data, metadata: { ...(metadata as object), actorId: 'someone-else' } },
        ),
      ),
  });
});

describe('the in-memory adapter', () => {
  it('refuses appends and reads once closed, while an instance connected to it carries on', async () => {
    const store = new InMemoryEventStore();
    const other = store.connect();
    await store.append('s-1', [event('A')], 'no_stream');
    await store.close();
    await expect(store.append('s-1', [event('B')], 0)).rejects.toBeInstanceOf(EventStoreUnavailable);
    await expect(store.readStream('s-1')).rejects.toBeInstanceOf(EventStoreUnavailable);
    await other.append('s-1', [event('B')], 0);
    expect((await other.readStream('s-1')).map((e) => e.type)).toEqual(['A', 'B']);
  });

  it('ends a waiting subscription when the store closes', async () => {
    const store = new InMemoryEventStore();
    await store.append('s-1', [event('A')], 'no_stream');
    const pages: number[] = [];
    const following = (async () => {
      for await (const page of store.subscribeToAll()) pages.push(page.events.length);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
    await following;
    expect(pages).toEqual([1]);
  });

  it('gives every read objects of its own: a reader that changes an event changes nothing stored', async () => {
    const store = new InMemoryEventStore();
    await store.append('s-1', [event('A', { text: 'hi' })], 'no_stream');
    const [read] = await store.readStream('s-1');
    (read!.data as { text: string }).text = 'changed';
    expect((await store.readStream('s-1'))[0]!.data).toEqual({ text: 'hi' });
  });
});
