/**
 * TypeORM's description of a directory.v1 table, for `bench/read-models.ts` (ADR 011):
 * the migrations stay the schema's source (`synchronize` is off), and no query of the app
 * reads through it. Bigints are strings, as pg gives them.
 */
import { EntitySchema } from 'typeorm';

export interface DirectoryUserEntityRow {
  userId: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  statusText: string | null;
  revision: string;
}

export const DirectoryUserEntity = new EntitySchema<DirectoryUserEntityRow>({
  name: 'directory.v1.user',
  tableName: 'rm_directory_v1_users',
  columns: {
    userId: { name: 'user_id', type: 'uuid', primary: true },
    username: { type: 'text', unique: true },
    displayName: { name: 'display_name', type: 'text' },
    avatarUrl: { name: 'avatar_url', type: 'text', nullable: true },
    statusText: { name: 'status_text', type: 'text', nullable: true },
    revision: { type: 'bigint' },
  },
});
