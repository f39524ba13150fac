/**
 * invitations.v1's table: every invitation to a group there was, pending or ended. An
 * ended one stays as a row (pending false) so that each change is guarded by the seq of
 * the event that made it: replaying an invitation never brings back one that ended.
 */
import type { Migration } from '@herald/database';

export const INVITATIONS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'invitations-001-tables',
    sql: `
      CREATE TABLE rm_invitations_v1_invitations (
        user_id          uuid NOT NULL,
        conversation_id  uuid NOT NULL,
        invited_by       uuid NOT NULL,
        invited_at       timestamptz NOT NULL,
        pending          boolean NOT NULL,
        updated_seq      bigint NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
      );
      CREATE INDEX rm_invitations_v1_pending_by_user ON rm_invitations_v1_invitations (user_id, conversation_id)
        WHERE pending;
      CREATE INDEX rm_invitations_v1_by_conversation ON rm_invitations_v1_invitations (conversation_id) WHERE pending;
    `,
  },
];
