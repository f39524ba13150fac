import { inject } from 'vitest';
import { randomUUID } from 'node:crypto';

/** The URL of the PostgreSQL the test run started (see global-setup.ts). */
export const testDatabaseUrl = (): string => inject('databaseUrl');

/** A fresh id so tests never share streams or rows. */
export const uniqueId = (prefix = 't'): string => `${prefix}${randomUUID().replaceAll('-', '').slice(0, 16)}`;
