export * from './producer.js';
export * from './relay.js';
export { KafkaJsProducer, type KafkaLog } from './kafkajs-producer.js';
