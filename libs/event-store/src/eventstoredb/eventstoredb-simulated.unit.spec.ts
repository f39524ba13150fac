/**
 * The whole contract suite through the EventStoreDB adapter on a simulated server (no
 * EventStoreDB here): the adapter's mappings, reads back, judgements and subscription
 * batching, end to end against the server's rules as modelled in simulated-server.testing.ts.
 * The same suite against a real server runs in eventstoredb-event-store.int.spec.ts.
 */
import { describeEventStoreContract } from '../event-store.contract.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';
import { SimulatedEventStoreDb } from './simulated-server.testing.js';

describeEventStoreContract('EventStoreDB adapter on a simulated server', () => {
  const server = new SimulatedEventStoreDb();
  return Promise.resolve({
    supportsFaults: false,
    uniqueEventIds: false,
    newStore: () => Promise.resolve(new EventStoreDbEventStore({ transport: server.connect() })),
  });
});
