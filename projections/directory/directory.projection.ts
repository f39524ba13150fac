/**
 * directory.v1: users and their profiles, contacts (both directions of each pair) and
 * blocks, for lists and lookups. Idempotent: profiles are guarded by the stream revision,
 * relations are rows keyed by the pair.
 */
import { streamPrefixOf, type EventIn } from '@herald/events';
import { eachEvent, type Place } from '../each-event.js';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

type DirectoryEvent = EventIn<'user'> | EventIn<'contact'>;

export const DIRECTORY = 'directory.v1';

export function directoryProjection(): Projection {
  return {
    name: DIRECTORY,
    filter: {
      streamPrefixes: [streamPrefixOf('user'), streamPrefixOf('contact')],
      eventTypes: [
        'UserRegistered',
        'ProfileUpdated',
        'UserBlocked',
        'UserUnblocked',
        'ContactRequested',
        'ContactRequestAccepted',
        'ContactRequestDeclined',
        'ContactRemoved',
      ],
    },
    apply: eachEvent<DirectoryEvent>(applyOne),
  };
}

async function applyOne(m: EntityManager, event: DirectoryEvent, { seq: revision }: Place): Promise<void> {
  const relate = async (a: string, b: string, statusOfA: string | null, statusOfB: string | null): Promise<void> => {
    for (const [user, contact, status] of [
      [a, b, statusOfA],
      [b, a, statusOfB],
    ] as const) {
      if (status === null) {
        await m.query('DELETE FROM rm_directory_v1_contacts WHERE user_id = $1 AND contact_id = $2 AND revision < $3', [
          user,
          contact,
          revision,
        ]);
      } else {
        await m.query(
          `INSERT INTO rm_directory_v1_contacts (user_id, contact_id, status, revision) VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, contact_id) DO UPDATE SET status = $3, revision = $4 WHERE rm_directory_v1_contacts.revision < $4`,
          [user, contact, status, revision],
        );
      }
    }
  };
  switch (event.type) {
    case 'UserRegistered':
      await m.query(
        `INSERT INTO rm_directory_v1_users (user_id, username, display_name, revision) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [event.data.userId, event.data.username, event.data.displayName, revision],
      );
      return;
    case 'ProfileUpdated': {
      const d = event.data;
      await m.query(
        `UPDATE rm_directory_v1_users SET
           display_name = CASE WHEN $3 THEN $4 ELSE display_name END,
           avatar_url = CASE WHEN $5 THEN $6 ELSE avatar_url END,
           status_text = CASE WHEN $7 THEN $8 ELSE status_text END,
           revision = $2
         WHERE user_id = $1 AND revision < $2`,
        [
          d.userId,
          revision,
          d.displayName !== undefined,
          d.displayName ?? null,
          d.avatarUrl !== undefined,
          d.avatarUrl ?? null,
          d.statusText !== undefined,
          d.statusText ?? null,
        ],
      );
      return;
    }
    case 'UserBlocked':
      await m.query(
        'INSERT INTO rm_directory_v1_blocks (user_id, blocked_user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [event.data.userId, event.data.blockedUserId],
      );
      return;
    case 'UserUnblocked':
      await m.query('DELETE FROM rm_directory_v1_blocks WHERE user_id = $1 AND blocked_user_id = $2', [
        event.data.userId,
        event.data.blockedUserId,
      ]);
      return;
    case 'ContactRequested':
      await relate(event.data.requesterId, event.data.recipientId, 'request_sent', 'request_received');
      return;
    case 'ContactRequestAccepted':
      await relate(event.data.requesterId, event.data.recipientId, 'contacts', 'contacts');
      return;
    case 'ContactRequestDeclined':
      await relate(event.data.requesterId, event.data.recipientId, null, null);
      return;
    case 'ContactRemoved':
      await relate(event.data.userId, event.data.contactId, null, null);
      return;
    case 'PasswordSet':
    case 'SignInAttempted':
    case 'SystemRoleGranted':
    case 'SystemRoleRevoked':
      return;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
