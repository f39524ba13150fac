/** invitations.v1: pending invitations to groups, per invited user. */
import type { ReadModel } from '../read-model.js';
import { GetInvitationsHandler } from './invitations.handlers.js';
import { INVITATIONS_MIGRATIONS } from './invitations.migrations.js';
import { INVITATIONS, invitationsProjection } from './invitations.projection.js';

export * from './invitations.handlers.js';
export * from './invitations.migrations.js';
export * from './invitations.projection.js';
export * from './invitations.queries.js';

export const invitations: ReadModel = {
  name: INVITATIONS,
  migrations: INVITATIONS_MIGRATIONS,
  projection: invitationsProjection,
  queryHandlers: [GetInvitationsHandler],
};
