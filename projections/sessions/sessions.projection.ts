/**
 * sessions.v1: each user's sign-in sessions (device, client, where and when they started,
 * when they were last seen, whether they ended), for `GET /me/sessions`. "Last seen" is the
 * last sign-in or token refresh, the events a session writes: an app in use refreshes at
 * least once per access token lifetime. Every write is guarded by the session stream's
 * revision, so applying an event twice changes nothing.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';
import { eachEvent, type Place } from '../each-event.js';

export const SESSIONS = 'sessions.v1';

export function sessionsProjection(): Projection {
  return {
    name: SESSIONS,
    filter: {
      streamPrefixes: [streamPrefixOf('session')],
      eventTypes: ['SessionStarted', 'SessionRefreshed', 'SessionRevoked'],
    },
    apply: eachEvent<EventIn<'session'>>(applyOne),
  };
}

async function applyOne(m: EntityManager, event: EventIn<'session'>, { seq, occurredAt }: Place): Promise<void> {
  switch (event.type) {
    case 'SessionStarted': {
      const d = event.data;
      await m.query(
        `INSERT INTO rm_sessions_v1_sessions
           (session_id, user_id, device_name, client, ip, created_at, last_seen_at, expires_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) ON CONFLICT (session_id) DO NOTHING`,
        [d.sessionId, d.userId, d.deviceName ?? null, d.client ?? null, d.ip ?? null, occurredAt, d.expiresAt, seq],
      );
      return;
    }
    case 'SessionRefreshed':
      await m.query(
        `UPDATE rm_sessions_v1_sessions SET last_seen_at = $2, expires_at = $3, ip = COALESCE($4, ip), revision = $5
          WHERE session_id = $1 AND revision < $5`,
        [event.data.sessionId, occurredAt, event.data.expiresAt, event.data.ip ?? null, seq],
      );
      return;
    case 'SessionRevoked':
      await m.query(
        `UPDATE rm_sessions_v1_sessions SET revoked = true, revision = $2 WHERE session_id = $1 AND revision < $2`,
        [event.data.sessionId, seq],
      );
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
