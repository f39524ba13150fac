import { describeEventStoreContract } from '../event-store.contract.js';
import { InMemoryEventStore, InMemoryLog } from './in-memory-event-store.js';

// Instances on one log, as processes on one database (the contract's "several store instances").
describeEventStoreContract('in memory', () => {
  const log = new InMemoryLog();
  return Promise.resolve({
    supportsFaults: true,
    newStore: (faults) => Promise.resolve(new InMemoryEventStore({ log, ...faults })),
  });
});
