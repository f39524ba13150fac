/**
 * The notifier: a follower of the event log (a projection of the projection runtime, as the
 * Kafka relay is: its own checkpoint, one active instance by advisory lock, retries) that
 * turns each MessageSent into notifications for the members who should get one, and a
 * dispatcher that sends them through the push-gateway adapters.
 *
 * Two stages, so that nothing is lost or sent twice by a crash:
 *
 * 1. `apply` (in the runner's transaction, with the checkpoint): for each message, its
 *    conversation's current members but the sender, without an open socket, not muting it
 *    (unless mentioned), not blocking the sender, each device of theirs. A device's first
 *    notification of a conversation in a window of NOTIFY_COLLAPSE_SECONDS goes to the
 *    outbox at once, keyed `<eventId>:<deviceId>`; later ones in the window are held in
 *    `notify_windows` and leave together, as one notification with their count, when it
 *    ends. Committed with the checkpoint: a batch applied again after a crash writes the
 *    same keys (and `ON CONFLICT DO NOTHING` keeps one).
 * 2. The dispatcher (on the instance running the projection): sends what the batch queued,
 *    handed over in memory once the batch committed (the rows are leased to it for
 *    LEASE_MS, so no read of the outbox finds them meanwhile), and what the outbox holds
 *    due (retries, collapsed windows that ended, what a previous instance left); deletes
 *    what was delivered (or dropped), reschedules what should be retried (exponential
 *    backoff, Retry-After when given, NOTIFY_MAX_ATTEMPTS at most) and removes devices the
 *    service says are gone. A notifier killed between a delivery and its record sends that
 *    notification again, with the same id: receivers deduplicate by it (at least once;
 *    once per key).
 */
import { compareCheckpoints, parseCheckpoint, type Checkpoint, type RecordedEvent } from '@herald/event-store';
import { readEvent, streamPrefixOf } from '@herald/events';
import type { AfterCommit, Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { removeDevices, type Devices, type Sql } from './devices.js';
import { inFieldOrder, type Notification, type Outcome, type PushAdapter } from './gateway.js';
import type { DeviceKind, Target } from './targets.js';

export const NOTIFIER = 'notifier.v1';
/** The read model the audience is read from: the notifier waits until it has applied what it notifies. */
/** Characters of a message's text a preview shows (for users who allowed previews). */
export const PREVIEW_CHARACTERS = 100;
/** How long the notifier waits for membership.v1 to reach a batch before it retries the batch. */
const MEMBERSHIP_WAIT_MS = 5_000;

/** membership.v1 has not applied the events the notifier is at: the batch is tried again. */
export class AudienceBehind extends Error {
  constructor(readModel: string) {
    super(`${readModel} is more than ${MEMBERSHIP_WAIT_MS} ms behind the notifier`);
    this.name = 'AudienceBehind';
  }
}

/**
 * What the notifier reads of the read models: the app gives their queries (a library does
 * not import the read models). `readModel` (membership.v1) is waited for until it has
 * applied the batch, so that it answers who was a member when the message was sent.
 */
export interface Audience {
  readonly readModel: string;
  /** The current members of these conversations, with the seq they joined at and whether they muted it now. */
  readonly members: (
    db: Sql,
    conversationIds: readonly string[],
    /** Only members with a row in this table of the notifier's (its devices): the database filters, not the notifier. */
    among: { readonly table: string; readonly column: string },
  ) => Promise<readonly { conversationId: string; userId: string; joinedSeq: number; muted: boolean }[]>;
  /** For each pair, whether either blocked the other. */
  readonly relations: (
    db: Sql,
    pairs: readonly (readonly [string, string])[],
  ) => Promise<readonly { userId: string; otherId: string; blocked: boolean }[]>;
}

export interface NotifierOptions {
  readonly audience: Audience;
  /** Where a committed batch's notifications go to be sent at once (the dispatcher). */
  readonly handOff: HandOff;
  /** Of these users, the ones with a socket open (on any API node): they get no notification. */
  readonly online: (userIds: readonly string[]) => Promise<ReadonlySet<string>>;
  /** At most one notification per device and conversation in this many seconds (0: every message). */
  readonly collapseSeconds: number;
}

interface Sent {
  readonly eventId: string;
  readonly position: Checkpoint;
  readonly seq: number;
  readonly occurredAt: string;
  readonly conversationId: string;
  readonly messageId: string;
  readonly senderId: string;
  readonly text: string;
  readonly mentions: { readonly userIds: readonly string[]; readonly all: boolean };
}

const TargetColumn = z.custom<Target>((v) => typeof v === 'object' && v !== null);
const DeviceRow = z.object({ device_id: z.string(), user_id: z.string(), previews: z.boolean(), target: TargetColumn });
const WindowRow = z.object({
  device_id: z.string(),
  conversation_id: z.string(),
  held_count: z.number(),
  open: z.boolean(),
});

interface Window {
  heldCount: number;
  open: boolean;
  held?: { key: string; payload: Omit<Notification, 'count' | 'mentioned'>; mentioned: boolean };
  touched: boolean;
  sentNow: boolean;
}

/** The first characters of a text, not cutting a surrogate pair. */
export function previewOf(text: string): string {
  const characters = Array.from(text);
  return characters.length <= PREVIEW_CHARACTERS ? text : `${characters.slice(0, PREVIEW_CHARACTERS).join('')}…`;
}

export function notifierProjection(options: NotifierOptions): Projection {
  return {
    name: NOTIFIER,
    // Messages, and the end of sessions: a device goes with the session that registered it.
    filter: {
      streamPrefixes: [streamPrefixOf('conversation'), streamPrefixOf('session')],
      eventTypes: ['MessageSent', 'SessionRevoked'],
    },
    batchSize: 1000,
    isTransient: (error) => error instanceof AudienceBehind,
    async apply(events, manager): Promise<AfterCommit | void> {
      // In log order: a device registered by a session ended before a message is not notified of it.
      let queued: OutboxRow[] = [];
      let from = 0;
      for (let i = 0; i <= events.length; i++) {
        const event = events[i];
        if (event !== undefined && event.type === 'MessageSent') continue;
        const sent = events.slice(from, i).map(toSent);
        if (sent.length > 0) {
          await waitForAudience(manager, options.audience.readModel, sent[sent.length - 1]!.position);
          queued.push(...(await notify(manager, sent, options)));
        }
        if (event?.type === 'SessionRevoked') {
          // Its notifications queued above went with its outbox rows.
          const removed = new Set(await removeDevices(manager, 'session_id = $1', [sessionOf(event)]));
          if (removed.size > 0) queued = queued.filter((row) => !removed.has(row.device_id));
        }
        from = i + 1;
      }
      if (queued.length > 0) return () => options.handOff.take(queued);
    },
  };
}

/** The session a SessionRevoked ended. */
function sessionOf(event: RecordedEvent): string {
  return (readEvent(event).data as { sessionId: string }).sessionId;
}

function toSent(event: RecordedEvent): Sent {
  const data = readEvent(event).data as unknown as Omit<Sent, 'eventId' | 'position' | 'seq' | 'occurredAt'>;
  return {
    eventId: event.eventId,
    position: event.globalPosition,
    seq: event.streamRevision,
    occurredAt: event.metadata.occurredAt,
    conversationId: data.conversationId,
    messageId: data.messageId,
    senderId: data.senderId,
    text: data.text,
    mentions: data.mentions,
  };
}

/** Waits until the read model's stored checkpoint is at `position` or past it. */
async function waitForAudience(db: Sql, readModel: string, position: Checkpoint): Promise<void> {
  const deadline = Date.now() + MEMBERSHIP_WAIT_MS;
  for (;;) {
    const [row] = z
      .array(z.object({ checkpoint: z.string() }))
      .parse(await db.query('SELECT checkpoint FROM herald_projection_checkpoints WHERE name = $1', [readModel]));
    if (row && compareCheckpoints(parseCheckpoint(row.checkpoint), position) >= 0) return;
    if (Date.now() >= deadline) throw new AudienceBehind(readModel);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Decides and queues the batch's notifications; returns those queued for sending at once, leased to the dispatcher. */
async function notify(manager: EntityManager, sent: readonly Sent[], options: NotifierOptions): Promise<OutboxRow[]> {
  // Members with a device only: in a group of 100,000 members the database finds the few,
  // rather than every member coming here to be looked up (ADR 036).
  const members = await options.audience.members(manager, [...new Set(sent.map((s) => s.conversationId))], {
    table: 'notify_devices',
    column: 'user_id',
  });
  if (members.length === 0) return [];
  const devices = z.array(DeviceRow).parse(
    await manager.query(
      `SELECT d.device_id, d.user_id, coalesce(s.previews, false) AS previews, d.target
         FROM notify_devices d LEFT JOIN notify_settings s USING (user_id)
        WHERE d.user_id = ANY($1::uuid[])`,
      [[...new Set(members.map((m) => m.userId))]],
    ),
  );
  if (devices.length === 0) return [];
  const devicesOf = new Map<string, { deviceId: string; previews: boolean; target: Target }[]>();
  for (const d of devices) {
    const list = devicesOf.get(d.user_id) ?? [];
    list.push({ deviceId: d.device_id, previews: d.previews, target: d.target });
    devicesOf.set(d.user_id, list);
  }
  const online = await options.online([...devicesOf.keys()]);
  const membersOf = new Map<string, (typeof members)[number][]>();
  for (const m of members) {
    if (!devicesOf.has(m.userId) || online.has(m.userId)) continue;
    const list = membersOf.get(m.conversationId) ?? [];
    list.push(m);
    membersOf.set(m.conversationId, list);
  }
  // Who blocked whom, between the remaining recipients and the senders.
  const pairs = new Map<string, readonly [string, string]>();
  for (const s of sent) {
    for (const m of membersOf.get(s.conversationId) ?? []) {
      if (m.userId !== s.senderId) pairs.set(`${m.userId} ${s.senderId}`, [m.userId, s.senderId]);
    }
  }
  const blocked = new Set(
    (await options.audience.relations(manager, [...pairs.values()]))
      .filter((r) => r.blocked)
      .map((r) => `${r.userId} ${r.otherId}`),
  );

  // Each (device, message) that calls for a notification, in log order.
  const wanted: Wanted[] = [];
  for (const s of sent) {
    for (const m of membersOf.get(s.conversationId) ?? []) {
      if (m.userId === s.senderId || m.joinedSeq > s.seq || blocked.has(`${m.userId} ${s.senderId}`)) continue;
      const mentioned = s.mentions.all || s.mentions.userIds.includes(m.userId);
      if (m.muted && !mentioned) continue;
      for (const device of devicesOf.get(m.userId)!) wanted.push({ ...device, sent: s, mentioned });
    }
  }
  if (wanted.length === 0) return [];
  // Without collapsing (0 s) every one is sent, and there is no window to keep.
  const outbox = options.collapseSeconds === 0 ? wanted.map(sendNow) : await collapse(manager, wanted, options);
  let queued: OutboxRow[] = [];
  if (outbox.length > 0) {
    // Leased to the dispatcher when it has room (sent once this commits), otherwise due now.
    const leaseMs = options.handOff.hasRoom() ? LEASE_MS : 0;
    const inserted = z.array(z.object({ key: z.string() })).parse(
      await manager.query(
        `INSERT INTO notify_outbox (key, device_id, payload, due_at)
         SELECT k, d, p, now() + $4 * interval '1 millisecond'
           FROM unnest($1::text[], $2::uuid[], $3::jsonb[]) AS t(k, d, p)
         ON CONFLICT (key) DO NOTHING RETURNING key`,
        [
          outbox.map((o) => o.key),
          outbox.map((o) => o.device_id),
          outbox.map((o) => JSON.stringify(o.payload)),
          leaseMs,
        ],
      ),
    );
    // A batch applied again queues only what it did not queue before.
    if (leaseMs > 0) {
      const fresh = new Set(inserted.map((r) => r.key));
      queued = outbox.filter((o) => fresh.has(o.key));
    }
  }
  return queued;
}

interface Wanted {
  readonly deviceId: string;
  readonly target: Target;
  readonly sent: Sent;
  readonly mentioned: boolean;
  readonly previews: boolean;
}

function notificationOf(w: Wanted, count: number): Notification {
  return {
    id: `${w.sent.eventId}:${w.deviceId}`,
    type: 'message',
    conversationId: w.sent.conversationId,
    messageId: w.sent.messageId,
    seq: w.sent.seq,
    senderId: w.sent.senderId,
    count,
    mentioned: w.mentioned,
    sentAt: w.sent.occurredAt,
    ...(w.previews ? { preview: previewOf(w.sent.text) } : {}),
  };
}

const sendNow = (w: Wanted): OutboxRow => ({
  key: `${w.sent.eventId}:${w.deviceId}`,
  device_id: w.deviceId,
  payload: notificationOf(w, 1),
  attempts: 0,
  target: w.target,
});

/**
 * Which of the wanted notifications leave now: a device's first of a conversation in a
 * window; later ones in the window are held in it (the newest, with a count), and the
 * windows touched are written.
 */
async function collapse(
  manager: EntityManager,
  wanted: readonly Wanted[],
  options: NotifierOptions,
): Promise<OutboxRow[]> {
  // The collapse windows of those (device, conversation) pairs, locked against the
  // dispatcher's flush until this batch commits.
  const keys = [...new Set(wanted.map((w) => `${w.deviceId} ${w.sent.conversationId}`))].sort();
  const windowRows = z.array(WindowRow).parse(
    await manager.query(
      `SELECT w.device_id, w.conversation_id, w.held_count,
              w.last_at <= now() - $3 * interval '1 second' AS open
         FROM notify_windows w
         JOIN unnest($1::uuid[], $2::uuid[]) AS k(device_id, conversation_id) USING (device_id, conversation_id)
        ORDER BY w.device_id, w.conversation_id
          FOR UPDATE OF w`,
      [keys.map((k) => k.split(' ')[0]), keys.map((k) => k.split(' ')[1]), options.collapseSeconds],
    ),
  );
  const windows = new Map<string, Window>();
  for (const row of windowRows) {
    windows.set(`${row.device_id} ${row.conversation_id}`, {
      heldCount: row.held_count,
      open: row.open,
      touched: false,
      sentNow: false,
    });
  }
  const outbox: OutboxRow[] = [];
  for (const w of wanted) {
    const slot = `${w.deviceId} ${w.sent.conversationId}`;
    const window = windows.get(slot);
    if (window === undefined || (window.heldCount === 0 && window.open)) {
      outbox.push(sendNow(w));
      windows.set(slot, { heldCount: 0, open: false, touched: true, sentNow: true });
      continue;
    }
    const { count: _count, mentioned: _mentioned, ...payload } = notificationOf(w, 1);
    window.heldCount += 1;
    window.held = { key: payload.id, payload, mentioned: (window.held?.mentioned ?? false) || w.mentioned };
    window.touched = true;
  }
  const touched = [...windows].filter(([, w]) => w.touched);
  if (touched.length === 0) return outbox;
  // A notification sent now starts a window; a held one adds to it (keeping when it started).
  await manager.query(
    `INSERT INTO notify_windows AS w (device_id, conversation_id, last_at, held_count, held_key, held, held_mentioned)
     SELECT device_id, conversation_id, CASE WHEN restart THEN now() ELSE '-infinity' END, held_count, held_key, held,
            held_mentioned
       FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::jsonb[], $6::boolean[], $7::boolean[])
         AS t(device_id, conversation_id, held_count, held_key, held, held_mentioned, restart)
     ON CONFLICT (device_id, conversation_id) DO UPDATE
        SET last_at = CASE WHEN excluded.last_at = '-infinity' THEN w.last_at ELSE excluded.last_at END,
            held_count = excluded.held_count, held_key = excluded.held_key, held = excluded.held,
            held_mentioned = excluded.held_mentioned`,
    [
      touched.map(([k]) => k.split(' ')[0]),
      touched.map(([k]) => k.split(' ')[1]),
      touched.map(([, w]) => w.heldCount),
      touched.map(([, w]) => w.held?.key ?? null),
      touched.map(([, w]) => (w.held ? JSON.stringify(w.held.payload) : null)),
      touched.map(([, w]) => w.held?.mentioned ?? false),
      touched.map(([, w]) => w.sentNow),
    ],
  );
  return outbox;
}

// ------------------------------------------------------------------ the dispatcher

export interface DispatcherOptions {
  readonly db: Sql;
  readonly devices: Devices;
  readonly adapters: ReadonlyMap<DeviceKind, PushAdapter>;
  /** Whether this instance runs the notifier now (holds its lock): only then does it send. */
  readonly active: () => boolean;
  readonly collapseSeconds: number;
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** Requests in flight at most (each push service or bot is given at most SafeHttp's sockets per origin of them). */
const CONCURRENCY = 1_024;
/** Notifications handed over and waiting for a request slot, at most; beyond, they wait in the outbox, due at once. */
const QUEUE_MAX = 8_192;
/**
 * How long a notification handed to the dispatcher is its alone: its outbox row is due again
 * after this if the dispatcher never recorded it (it died, or its record failed). Longer
 * than any adapter's request takes (SafeHttp gives up after 5 s).
 */
export const LEASE_MS = 60_000;
/** Rows claimed from the outbox per look. */
const PAGE = 512;
/** How often the dispatcher looks at the outbox for what is due (at once again after a full page). */
const CLAIM_EVERY_MS = 50;
/**
 * While nothing is handed over, claimed or in flight, the looks for due rows back off,
 * doubling up to this (issue 17: an idle server's statements). A hand-over wakes the loop
 * at once; a retry or a collapsed window comes due at most this much late.
 */
const IDLE_CLAIM_MAX_MS = 1_000;
const MAX_BACKOFF_MS = 5 * 60_000;

const OutboxRow = z.object({
  key: z.string(),
  device_id: z.string(),
  payload: z.custom<Notification>((v) => typeof v === 'object' && v !== null),
  attempts: z.number(),
  target: TargetColumn.nullable(),
});
type OutboxRow = z.output<typeof OutboxRow>;

/** How the notifier's batches reach the dispatcher once committed. */
export interface HandOff {
  /** Whether the dispatcher takes more now: the batch's rows are then leased to it. */
  hasRoom(): boolean;
  take(rows: readonly OutboxRow[]): void;
}

interface Result {
  readonly row: OutboxRow;
  readonly outcome: Outcome;
}

export class Dispatcher implements HandOff {
  /** Keys being sent (until their result is recorded). */
  private readonly inFlight = new Set<string>();
  /** Handed over by committed batches, in order, with when. */
  private readonly queued = new Map<string, { readonly row: OutboxRow; readonly at: number }>();
  private results: Result[] = [];
  private recording: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private wake: (() => void) | undefined;
  /** Keys recorded while a claim runs (see `claim`). */
  private recordedDuringClaim: Set<string> | undefined;
  /** Something arrived (a hand-over, free request slots) since the loop last looked. */
  private woken = false;
  /** Notifications delivered since start (for the log and benchmarks). */
  delivered = 0;

  constructor(private readonly options: DispatcherOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    this.wakeUp();
    await this.loop;
    await this.record();
  }

  hasRoom(): boolean {
    return this.loop !== undefined && !this.controller.signal.aborted && this.queued.size < QUEUE_MAX;
  }

  take(rows: readonly OutboxRow[]): void {
    const at = Date.now();
    for (const row of rows) {
      if (!this.inFlight.has(row.key) && !this.queued.has(row.key)) this.queued.set(row.key, { row, at });
    }
    this.wakeUp();
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let active = false;
    let lastFlush = 0;
    let lastClaim = 0;
    let backlog = false;
    let claimEvery = CLAIM_EVERY_MS;
    while (!signal.aborted) {
      try {
        if (!this.options.active()) {
          // Another instance runs the notifier: what was handed here is leased, and it takes it over.
          active = false;
          this.queued.clear();
          await this.sleep(250);
          continue;
        }
        if (!active) {
          await this.takeOver();
          active = true;
          lastClaim = 0;
        }
        if (Date.now() - lastFlush >= Math.max(100, claimEvery)) {
          await this.flushWindows();
          lastFlush = Date.now();
        }
        const handedOver = this.queued.size > 0;
        this.sendQueued();
        const room = CONCURRENCY - this.inFlight.size;
        if (room > 0 && (backlog || Date.now() - lastClaim >= claimEvery)) {
          const limit = Math.min(PAGE, room);
          const rows = await this.claim(limit);
          lastClaim = Date.now();
          for (const row of rows) this.dispatch(row);
          // As many as asked: more are due, claimed as soon as request slots free up.
          backlog = rows.length === limit;
          const idle = rows.length === 0 && !handedOver && this.inFlight.size === 0;
          claimEvery = idle ? Math.min(IDLE_CLAIM_MAX_MS, claimEvery * 2) : CLAIM_EVERY_MS;
          if (backlog && this.inFlight.size < CONCURRENCY) continue;
        } else if (handedOver) {
          claimEvery = CLAIM_EVERY_MS;
        }
        // Woken by a hand-over or by recorded results freeing request slots.
        await this.sleep(claimEvery);
      } catch (error) {
        if (signal.aborted) break;
        this.options.log('warn', `notifier: dispatch failed: ${describe(error)}; retrying`);
        await this.sleep(1_000);
      }
    }
    while (this.inFlight.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await this.recording;
      await this.record();
    }
  }

  /** Sends what was handed over, as request slots allow. */
  private sendQueued(): void {
    const now = Date.now();
    for (const [key, { row, at }] of this.queued) {
      if (this.inFlight.size >= CONCURRENCY) break;
      this.queued.delete(key);
      // Waited so long (a slow endpoint) that its lease may end before it is sent: the
      // outbox gives it again then, and sending it now as well would send it twice.
      if (now - at > LEASE_MS / 2) continue;
      this.dispatch(row);
    }
  }

  /**
   * Becoming the active instance: notifications a previous one was handed (never retried:
   * no attempt recorded) are due now rather than when their lease ends.
   */
  private async takeOver(): Promise<void> {
    await this.options.db.query(`UPDATE notify_outbox SET due_at = now() WHERE attempts = 0 AND due_at > now()`, []);
  }

  /** Held notifications whose window ended become one notification each, with their count. */
  private async flushWindows(): Promise<void> {
    await this.options.db.query(
      `WITH due AS (
              SELECT device_id, conversation_id, held_count, held_key, held, held_mentioned
                FROM notify_windows
               WHERE held_count > 0 AND last_at <= now() - $1 * interval '1 second'
               ORDER BY last_at LIMIT 1000
                 FOR UPDATE SKIP LOCKED),
            reset AS (
              UPDATE notify_windows w
                 SET held_count = 0, held_key = NULL, held = NULL, held_mentioned = false, last_at = now()
                FROM due WHERE w.device_id = due.device_id AND w.conversation_id = due.conversation_id)
       INSERT INTO notify_outbox (key, device_id, payload)
       SELECT held_key, device_id, held || jsonb_build_object('count', held_count, 'mentioned', held_mentioned)
         FROM due
       ON CONFLICT (key) DO NOTHING`,
      [this.options.collapseSeconds],
    );
  }

  /**
   * Rows due in the outbox, leased to this dispatcher while it sends them; but those it
   * holds already: handed over as well (a batch that committed before a take-over made
   * them due), in flight, or recorded while the claim ran (claimed before their delete).
   */
  private async claim(limit: number): Promise<OutboxRow[]> {
    const recorded = new Set<string>();
    this.recordedDuringClaim = recorded;
    try {
      const rows = await this.claimRows(limit);
      return rows.filter((r) => !this.inFlight.has(r.key) && !this.queued.has(r.key) && !recorded.has(r.key));
    } finally {
      this.recordedDuringClaim = undefined;
    }
  }

  private async claimRows(limit: number): Promise<OutboxRow[]> {
    return z.array(OutboxRow).parse(
      await this.options.db.query(
        `WITH due AS (
                SELECT key FROM notify_outbox WHERE due_at <= now()
                 ORDER BY due_at, key LIMIT $1 FOR UPDATE SKIP LOCKED),
              claimed AS (
                UPDATE notify_outbox o SET due_at = now() + $2 * interval '1 millisecond'
                  FROM due WHERE o.key = due.key
                RETURNING o.key, o.device_id, o.payload, o.attempts)
         SELECT c.key, c.device_id, c.payload, c.attempts, d.target
           FROM claimed c LEFT JOIN notify_devices d USING (device_id)`,
        [limit, LEASE_MS],
      ),
    );
  }

  private dispatch(row: OutboxRow): void {
    this.inFlight.add(row.key);
    void this.send(row)
      .catch((error: unknown): Outcome => ({ kind: 'retry', reason: describe(error) }))
      .then((outcome) => {
        // Still in flight until recorded: the outbox row stays due until then.
        this.results.push({ row, outcome });
        if (outcome.kind === 'delivered') this.delivered++;
        void this.kickRecord();
      });
  }

  private async send(row: OutboxRow): Promise<Outcome> {
    // The device was removed after the notification was queued.
    if (row.target === null) return { kind: 'drop', reason: 'device removed' };
    const adapter = this.options.adapters.get(row.target.kind);
    if (!adapter) return { kind: 'drop', reason: `no ${row.target.kind} adapter configured` };
    return adapter.send(row.target, inFieldOrder(row.payload));
  }

  /** Records results as they come: one statement for what finished while the last one ran. */
  private kickRecord(): Promise<void> {
    this.recording ??= this.record().finally(() => {
      this.recording = undefined;
      if (this.results.length > 0) void this.kickRecord();
    });
    return this.recording;
  }

  private async record(): Promise<void> {
    const results = this.results;
    if (results.length === 0) return;
    this.results = [];
    const done: string[] = [];
    const retry: { key: string; attempts: number; afterMs: number }[] = [];
    const gone: string[] = [];
    for (const { row, outcome } of results) {
      switch (outcome.kind) {
        case 'delivered':
          done.push(row.key);
          break;
        case 'drop':
          done.push(row.key);
          this.options.log('warn', `notifier: notification ${row.key} dropped: ${outcome.reason}`);
          break;
        case 'unregister':
          done.push(row.key);
          gone.push(row.device_id);
          this.options.log('info', `notifier: device ${row.device_id} unregistered: ${outcome.reason}`);
          break;
        case 'retry': {
          const attempts = row.attempts + 1;
          if (attempts >= this.options.maxAttempts) {
            done.push(row.key);
            this.options.log(
              'warn',
              `notifier: notification ${row.key} dropped after ${attempts} attempts: ${outcome.reason}`,
            );
            break;
          }
          const base = Math.min(MAX_BACKOFF_MS, this.options.retryInitialMs * 2 ** (attempts - 1));
          const afterMs = Math.max(outcome.afterMs ?? 0, base / 2 + Math.random() * (base / 2));
          retry.push({ key: row.key, attempts, afterMs });
          break;
        }
        default: {
          const unknown: never = outcome;
          return unknown;
        }
      }
    }
    try {
      await this.options.db.query(
        `WITH done AS (DELETE FROM notify_outbox WHERE key = ANY($1::text[]))
         UPDATE notify_outbox o SET attempts = r.attempts, due_at = now() + r.after_ms * interval '1 millisecond'
           FROM unnest($2::text[], $3::int[], $4::float8[]) AS r(key, attempts, after_ms)
          WHERE o.key = r.key`,
        [done, retry.map((r) => r.key), retry.map((r) => r.attempts), retry.map((r) => r.afterMs)],
      );
      if (gone.length > 0) await this.options.devices.unregister([...new Set(gone)]);
    } catch (error) {
      // Not recorded: the rows are sent again (same ids) when their lease ends.
      this.options.log('warn', `notifier: results not recorded: ${describe(error)}`);
    } finally {
      for (const { row } of results) {
        this.inFlight.delete(row.key);
        this.recordedDuringClaim?.add(row.key);
      }
      this.wakeUp();
    }
  }

  private wakeUp(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Waits `ms`, or less if woken meanwhile (or since the loop last looked). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, this.woken ? 0 : ms);
      this.wake = done;
    });
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
