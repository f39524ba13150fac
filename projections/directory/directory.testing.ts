/** Test helpers of the directory read model (its tables are named only in this folder); not built into dist. */
import type { Sql } from '../sql.js';

/**
 * For tests: holds back the directory's writes of blocks (until `db`'s transaction ends),
 * as a directory that cannot keep up would.
 */
export async function holdBlockWrites(db: Sql): Promise<void> {
  await db.query('LOCK TABLE rm_directory_v1_blocks IN SHARE MODE', []);
}
