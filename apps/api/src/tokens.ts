/** Injection tokens for things that are interfaces, not classes. */
export const CONFIG = Symbol('HeraldConfig');
export const EVENT_STORE = Symbol('EventStore');
/** The PostgreSQL URL, for connections of their own (the push gateway's signal listener). */
export const DATABASE_URL = Symbol('DatabaseUrl');
export const PROJECTIONS = Symbol('Projections');
/** The Kafka producer of the in-process relay, or null when KAFKA_BROKERS is unset. */
export const INTEGRATION_PRODUCER = Symbol('INTEGRATION_PRODUCER');
/** Whether this API process runs the notifier (always with `npm start`; tests may run it elsewhere). */
export const NOTIFIER_ENABLED = Symbol('NOTIFIER_ENABLED');
