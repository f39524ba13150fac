import type { Migration } from '@herald/database';

/**
 * The notifier's tables. Devices and settings are written by the API (a user's own
 * delivery configuration: push tokens are credentials, deleted for good on removal, so they
 * are kept out of the event log); windows and the outbox by the notifier (ADR 022).
 */
export const NOTIFICATION_MIGRATIONS: readonly Migration[] = [
  {
    id: 'notifications-001-tables',
    sql: `
      CREATE TABLE notify_devices (
        device_id    uuid PRIMARY KEY,
        user_id      uuid NOT NULL,
        kind         text NOT NULL CHECK (kind IN ('webpush', 'fcm', 'apns', 'webhook')),
        target       jsonb NOT NULL,
        target_hash  text NOT NULL,
        name         text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (user_id, target_hash)
      );
      CREATE TABLE notify_settings (
        user_id   uuid PRIMARY KEY,
        previews  boolean NOT NULL
      );
      -- Per device and conversation: when its last notification was queued, and what is
      -- held since (sent collapsed, with its count, once the window has passed).
      CREATE TABLE notify_windows (
        device_id        uuid NOT NULL,
        conversation_id  uuid NOT NULL,
        last_at          timestamptz NOT NULL,
        held_count       integer NOT NULL DEFAULT 0,
        held_key         text,
        held             jsonb,
        held_mentioned   boolean NOT NULL DEFAULT false,
        PRIMARY KEY (device_id, conversation_id)
      );
      CREATE INDEX notify_windows_held ON notify_windows (last_at) WHERE held_count > 0;
      -- Notifications to send, by idempotency key (event and device); deleted once delivered.
      CREATE TABLE notify_outbox (
        key         text PRIMARY KEY,
        device_id   uuid NOT NULL,
        payload     jsonb NOT NULL,
        attempts    integer NOT NULL DEFAULT 0,
        due_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX notify_outbox_due ON notify_outbox (due_at);
      CREATE INDEX notify_outbox_device ON notify_outbox (device_id);
    `,
  },
  {
    // The session that (last) registered each device: it ends, the device goes (a signed-out
    // phone must not go on being notified). Devices registered before have none, and stay.
    id: 'notifications-002-device-sessions',
    sql: `
      ALTER TABLE notify_devices ADD COLUMN session_id uuid;
      CREATE INDEX notify_devices_session ON notify_devices (session_id) WHERE session_id IS NOT NULL;
    `,
  },
];
