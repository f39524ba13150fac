/**
 * Runs the example consumer: prints one line per event (type, stream, revision).
 *
 *   KAFKA_BROKERS=localhost:9092 node dist/examples/kafka-consumer/main.js
 *
 * Optional: KAFKA_TOPICS (default herald.identity.v1,herald.conversations.v1),
 * GROUP_ID (default herald-example), STATE_FILE (default ./consumer-state.json),
 * SCHEMAS_DIR (default ./events/schemas).
 */
import { HeraldConsumer } from './consumer.js';

const env = process.env;
const brokers = (env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) {
  console.error('Set KAFKA_BROKERS, e.g. KAFKA_BROKERS=localhost:9092');
  process.exit(2);
}
const consumer = new HeraldConsumer({
  brokers,
  groupId: env.GROUP_ID ?? 'herald-example',
  topics: (env.KAFKA_TOPICS ?? 'herald.identity.v1,herald.conversations.v1').split(','),
  schemasDir: env.SCHEMAS_DIR ?? './events/schemas',
  stateFile: env.STATE_FILE ?? './consumer-state.json',
  log: (message) => console.error(message),
  handle: async (event) => {
    console.log(`${event.type} v${event.schemaVersion} ${event.streamId}@${event.streamRevision} ${event.eventId}`);
    return Promise.resolve();
  },
});
await consumer.start();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void consumer.stop().then(() => process.exit(0)));
}
