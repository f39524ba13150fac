/**
 * What the notifier (libs/notifications) reads of the read models: who is a member of a
 * conversation now (membership.v1, which it waits for) and who blocked whom (directory.v1).
 */
import type { Audience } from '@herald/notifications';
import { relations } from './directory/directory.queries.js';
import { MEMBERSHIP } from './membership/index.js';
import { notificationAudience } from './membership/membership.queries.js';

export const NOTIFICATION_AUDIENCE: Audience = { readModel: MEMBERSHIP, members: notificationAudience, relations };
