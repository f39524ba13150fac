/**
 * A user's devices and notification settings: registered, listed and removed by the user
 * (the API), read by the notifier, removed by it when a push service says the device is gone.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DeviceError } from './errors.js';
import { labelOf, MAX_DEVICES_PER_USER, type DeviceKind, type Target } from './targets.js';

/** What runs a statement: a TypeORM DataSource or EntityManager. */
export interface Sql {
  query(sql: string, parameters: unknown[]): Promise<unknown>;
}
/** What runs statements in one transaction. */
export interface TransactionalSql extends Sql {
  transaction<T>(work: (manager: Sql) => Promise<T>): Promise<T>;
}

export interface DeviceView {
  readonly deviceId: string;
  readonly kind: DeviceKind;
  readonly name: string | null;
  /** Enough of the target to tell devices apart (an origin, a token's last characters), never the target. */
  readonly target: string;
  readonly createdAt: string;
}

const Row = z.object({
  device_id: z.string(),
  kind: z.enum(['webpush', 'fcm', 'apns', 'webhook']),
  target: z.custom<Target>((v) => typeof v === 'object' && v !== null),
  name: z.string().nullable(),
  created_at: z.date(),
});
/** TypeORM answers an UPDATE's or DELETE's RETURNING rows as `[rows, count]`, other statements' as rows. */
export const returned = (value: unknown): unknown =>
  Array.isArray(value) && value.length === 2 && Array.isArray(value[0]) && typeof value[1] === 'number'
    ? value[0]
    : value;
const rows = (value: unknown): z.output<typeof Row>[] => z.array(Row).parse(returned(value));
const view = (row: z.output<typeof Row>): DeviceView => ({
  deviceId: row.device_id,
  kind: row.kind,
  name: row.name,
  target: labelOf(row.target),
  createdAt: row.created_at.toISOString(),
});

/** One device per target and user: the same subscription or token registered again is the same device. */
const targetHash = (target: Target): string => {
  const key = target.kind === 'webpush' ? target.endpoint : target.kind === 'webhook' ? target.url : target.token;
  return createHash('sha256').update(`${target.kind}\n${key}`).digest('hex');
};

export class Devices {
  constructor(private readonly db: TransactionalSql) {}

  /**
   * Registers a target for the user from one of their sessions; the same target again answers
   * its device (renamed when a name is given, and now of this session), with `created` false.
   * Refuses an eleventh device (DEVICE.TOO_MANY). The device is removed when its session ends
   * (the notifier follows SessionRevoked).
   */
  async register(
    userId: string,
    sessionId: string,
    target: Target,
    name: string | undefined,
  ): Promise<{ device: DeviceView; created: boolean }> {
    return this.db.transaction(async (tx) => {
      // One registration of a user at a time, so that the limit holds under concurrency.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`herald.devices:${userId}`]);
      const hash = targetHash(target);
      const existing = rows(
        await tx.query(
          `UPDATE notify_devices SET name = coalesce($3, name), target = $4, session_id = $5
            WHERE user_id = $1 AND target_hash = $2
           RETURNING device_id, kind, target, name, created_at`,
          [userId, hash, name ?? null, target, sessionId],
        ),
      );
      if (existing[0]) return { device: view(existing[0]), created: false };
      const [{ count } = { count: 0 }] = z
        .array(z.object({ count: z.coerce.number() }))
        .parse(await tx.query('SELECT count(*) AS count FROM notify_devices WHERE user_id = $1', [userId]));
      if (count >= MAX_DEVICES_PER_USER) {
        throw new DeviceError('DEVICE.TOO_MANY', `A user may register at most ${MAX_DEVICES_PER_USER} devices`);
      }
      const inserted = rows(
        await tx.query(
          `INSERT INTO notify_devices (device_id, user_id, kind, target, target_hash, name, session_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING device_id, kind, target, name, created_at`,
          [randomUUID(), userId, target.kind, target, hash, name ?? null, sessionId],
        ),
      );
      return { device: view(inserted[0]!), created: true };
    });
  }

  async list(userId: string): Promise<DeviceView[]> {
    const found = rows(
      await this.db.query(
        `SELECT device_id, kind, target, name, created_at FROM notify_devices
          WHERE user_id = $1 ORDER BY created_at, device_id`,
        [userId],
      ),
    );
    return found.map(view);
  }

  /** Removes a device of the user's (DEVICE.NOT_FOUND for another's, as for none), with what waits for it. */
  async remove(userId: string, deviceId: string): Promise<void> {
    const removed = await this.removeWhere('user_id = $1 AND device_id = $2', [userId, deviceId]);
    if (removed === 0) throw new DeviceError('DEVICE.NOT_FOUND', 'No such device');
  }

  /** The push service said these devices are gone. */
  async unregister(deviceIds: readonly string[]): Promise<number> {
    if (deviceIds.length === 0) return 0;
    return this.removeWhere('device_id = ANY($1::uuid[])', [deviceIds]);
  }

  async previews(userId: string): Promise<boolean> {
    const found = z
      .array(z.object({ previews: z.boolean() }))
      .parse(await this.db.query('SELECT previews FROM notify_settings WHERE user_id = $1', [userId]));
    return found[0]?.previews ?? false;
  }

  async setPreviews(userId: string, previews: boolean): Promise<void> {
    await this.db.query(
      `INSERT INTO notify_settings (user_id, previews) VALUES ($1, $2)
       ON CONFLICT (user_id) DO UPDATE SET previews = excluded.previews`,
      [userId, previews],
    );
  }

  private async removeWhere(where: string, parameters: unknown[]): Promise<number> {
    return (await removeDevices(this.db, where, parameters)).length;
  }
}

/** Deletes the devices `where` selects, with what waits for them; answers their ids. */
export async function removeDevices(db: Sql, where: string, parameters: unknown[]): Promise<string[]> {
  const removed = z.array(z.object({ device_id: z.string() })).parse(
    await db.query(
      `WITH gone AS (DELETE FROM notify_devices WHERE ${where} RETURNING device_id),
              outbox AS (DELETE FROM notify_outbox WHERE device_id IN (SELECT device_id FROM gone)),
              windows AS (DELETE FROM notify_windows WHERE device_id IN (SELECT device_id FROM gone))
         SELECT device_id FROM gone`,
      parameters,
    ),
  );
  return removed.map((r) => r.device_id);
}

/**
 * Of these users, those with a WebSocket open on some API node, as the nodes' presence
 * tables say (apps/api/src/push/presence.ts: a row per user and node, written shortly after
 * a node's first socket of the user opens; a node silent for three heartbeats is dead).
 * What a notifier that is not an API node knows; an API node adds its own sockets, exactly.
 */
export async function onlineOnAnyNode(db: Sql, userIds: readonly string[], heartbeatMs: number): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const found = z.array(z.object({ user_id: z.string() })).parse(
    await db.query(
      `SELECT DISTINCT c.user_id FROM presence_connections c JOIN presence_nodes n USING (node_id)
        WHERE c.user_id = ANY($1::uuid[]) AND n.heartbeat_at >= now() - $2 * interval '1 millisecond'`,
      [userIds, 3 * heartbeatMs],
    ),
  );
  return new Set(found.map((r) => r.user_id));
}
