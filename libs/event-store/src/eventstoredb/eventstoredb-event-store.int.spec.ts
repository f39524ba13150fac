/**
 * The event store contract against EventStoreDB / KurrentDB when EVENTSTORE_URL names a
 * server (`esdb://host:2113?tls=false`); otherwise the suite is reported as skipped with
 * the reason, never as passed. Each run writes streams of its own prefix.
 */
import { describeEventStoreContract } from '../event-store.contract.js';
import { EventStoreDbEventStore } from './eventstoredb-event-store.js';

const url = process.env.EVENTSTORE_URL;

describeEventStoreContract(
  'EventStoreDB',
  () =>
    Promise.resolve({
      // The server commits; there is no transaction of the adapter's to delay or roll back.
      supportsFaults: false,
      // The server does not know where else an id is recorded (docs/adr/026).
      uniqueEventIds: false,
      newStore: () => Promise.resolve(new EventStoreDbEventStore({ connectionString: url! })),
    }),
  url ? undefined : 'EVENTSTORE_URL is not set (no EventStoreDB server to test against)',
);
