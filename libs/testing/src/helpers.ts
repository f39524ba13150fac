import type { NewEvent } from '@herald/event-store';
import { randomUUID } from 'node:crypto';

let clock = Date.parse('2026-01-01T00:00:00Z');

/** A well-formed event with fresh ids, for tests of the store and its followers. */
export function testEvent(type: string, data: Record<string, unknown> = {}): NewEvent {
  return {
    eventId: randomUUID(),
    type,
    schemaVersion: 1,
    data,
    metadata: {
      actorId: 'actor-1',
      correlationId: randomUUID(),
      causationId: randomUUID(),
      occurredAt: new Date(clock++).toISOString(),
    },
  };
}

export const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** Waits until `check` holds, or fails the test after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Signs access tokens in tests (32 characters or more, as the config requires). */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret';
