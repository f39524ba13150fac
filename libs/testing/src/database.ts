import { inject } from 'vitest';
import pg from 'pg';
import { randomUUID } from 'node:crypto';

/** The URL of the PostgreSQL the test run started (see global-setup.ts). */
export const testDatabaseUrl = (): string => inject('databaseUrl');

/** A fresh id so tests never share streams or rows. */
export const uniqueId = (prefix = 't'): string => `${prefix}${randomUUID().replaceAll('-', '').slice(0, 16)}`;

/** A new, empty database on the test server, for tests that must see no other test's events. */
export async function freshDatabase(): Promise<string> {
  const base = testDatabaseUrl();
  const name = uniqueId('db').toLowerCase();
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}
