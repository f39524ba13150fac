import { IDLE_IN_TRANSACTION_TIMEOUT_MS } from '@herald/database';
import { DataSource, type EntitySchema } from 'typeorm';

export interface ReadModelDataSourceOptions {
  readonly url: string;
  readonly poolSize?: number;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM takes entity classes
  readonly entities?: (Function | EntitySchema)[];
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
      application_name: 'herald-read-models',
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      connectionTimeoutMillis: 10_000,
    },
  });
}
