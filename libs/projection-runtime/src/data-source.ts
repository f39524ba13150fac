import {
  IDLE_IN_TRANSACTION_TIMEOUT_MS,
  poolTimeouts,
  READ_MODEL_APPLICATION_NAME,
  type DatabaseTimeouts,
} from '@herald/database';
import { DataSource, type EntitySchema } from 'typeorm';

export interface ReadModelDataSourceOptions {
  readonly url: string;
  readonly poolSize?: number;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM takes entity classes
  readonly entities?: (Function | EntitySchema)[];
  /**
   * Bounds on waiting for the server (a paused one): queries and projection batches fail
   * after them (a batch is then retried with backoff, as for a lost connection).
   */
  readonly timeouts?: DatabaseTimeouts;
}

/** The TypeORM data source for read models. Schema changes go through migrations, never `synchronize`. */
export function createReadModelDataSource(options: ReadModelDataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    entities: options.entities ?? [],
    synchronize: false,
    logging: false,
    extra: {
      max: options.poolSize ?? 10,
      application_name: READ_MODEL_APPLICATION_NAME,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      // Read models are derived: a commit need not wait for its WAL flush. A server crash
      // then loses at most the last fraction of a second of read-model transactions, each
      // with the checkpoint it stored, so the projections apply those events again. (The
      // event store's own pool keeps synchronous commits: events are the truth.)
      options: '-c synchronous_commit=off',
      ...poolTimeouts(options.timeouts),
    },
  });
}
