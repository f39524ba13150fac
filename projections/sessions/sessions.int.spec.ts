/**
 * sessions.v1, given-when-then against PostgreSQL: given a user's sessions' events, then
 * their list of sessions reads so, again after the events are delivered twice.
 */
import { projectionSpec, type InStream } from '@herald/testing';
import { streamIdOf, type EventIn } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sessions } from './index.js';
import { activeSessionsOf } from './sessions.queries.js';

const spec = projectionSpec([sessions]);
const hash = 'a'.repeat(64);
const future = '2999-01-01T00:00:00.000Z';

function session(userId: string, details: { deviceName?: string; client?: string; ip?: string } = {}) {
  const sessionId = randomUUID();
  const inS = (event: EventIn<'session'>): InStream => ({ stream: streamIdOf('session', sessionId), event });
  const started = inS({
    type: 'SessionStarted',
    data: { sessionId, userId, refreshTokenHash: hash, expiresAt: future, ...details },
  });
  return { sessionId, inS, started };
}

describe('sessions.v1', () => {
  it("lists a user's sessions with device, client and IP; a refresh moves last seen and the IP; a revoked or expired one is gone", async () => {
    const userId = randomUUID();
    const phone = session(userId, { deviceName: 'phone', client: 'Herald iOS', ip: '10.0.0.1' });
    const laptop = session(userId);
    const revoked = session(userId);
    const expired = session(userId);
    const someoneElse = session(randomUUID());
    await spec
      .given(phone.started, laptop.started, revoked.started, someoneElse.started)
      .when(
        phone.inS({
          type: 'SessionRefreshed',
          data: { sessionId: phone.sessionId, refreshTokenHash: hash, expiresAt: future, ip: '10.0.0.2' },
        }),
        revoked.inS({
          type: 'SessionRevoked',
          data: { sessionId: revoked.sessionId, reason: 'signed_out', bySessionId: phone.sessionId },
        }),
        expired.inS({
          type: 'SessionStarted',
          data: {
            sessionId: expired.sessionId,
            userId,
            refreshTokenHash: hash,
            expiresAt: '2000-01-01T00:00:00.000Z',
          },
        }),
      )
      .then(async (db) => {
        const { sessions: listed } = await activeSessionsOf(db, userId, { limit: 10 });
        expect(listed.map((s) => s.sessionId).sort()).toEqual([phone.sessionId, laptop.sessionId].sort());
        expect(listed.find((s) => s.sessionId === phone.sessionId)).toMatchObject({
          deviceName: 'phone',
          client: 'Herald iOS',
          ip: '10.0.0.2',
        });
        expect(listed.find((s) => s.sessionId === laptop.sessionId)).toMatchObject({
          deviceName: null,
          client: null,
          ip: null,
        });
      });
  });
});
