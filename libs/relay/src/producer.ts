/**
 * The integration stream port: what the relay needs from a Kafka client. Small on
 * purpose, so the client library can be swapped (kafkajs today).
 */
import type { WireRecord } from '@herald/events';

export interface IntegrationProducer {
  /**
   * Produces the records and resolves once the broker acknowledged all of them (acks=all).
   * Records with the same key are produced in the order given.
   * Throws IntegrationStreamUnavailable when the broker cannot be reached or refuses for a
   * reason that will pass; RecordRejected when a record itself is refused (too large, say).
   */
  send(records: readonly WireRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The broker is unreachable or not ready: try again later, nothing is lost. */
export class IntegrationStreamUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IntegrationStreamUnavailable';
  }
}

/** The broker refused a record for what it is: retrying the same record will not help. */
export class RecordRejected extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RecordRejected';
  }
}
