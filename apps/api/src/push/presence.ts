/**
 * Presence: who has a WebSocket open on any API node, and when the others were last seen.
 * Ephemeral, never events; shared by the nodes through three tables of their PostgreSQL:
 *
 * - `presence_nodes (node_id, heartbeat_at)`: each node beats every PRESENCE_HEARTBEAT_MS.
 *   A node whose beat is older than three intervals is dead: on each beat every node looks
 *   for dead ones, and the first to find one deletes it with its rows (recording its
 *   users' last seen as its last beat) and says `node-gone` on the signal bus.
 * - `presence_connections (node_id, user_id)`: a row while the user has a socket on that
 *   node. Written only on the node's transitions (a user's first socket there opens, the
 *   last one closes), in batches, so a reconnect storm or a flapping client costs little;
 *   the count of sockets stays in the node's memory, where it is exact.
 * - `presence_last_seen (user_id, last_seen_at)`: when a user's last socket on a node closed.
 *
 * A user is online while a row of theirs belongs to a node with a fresh beat; the clock is
 * the database's, so nodes' clocks do not matter. The first two tables are UNLOGGED: no
 * WAL for state that is worthless after a crash. Should the database lose them (crash
 * recovery empties unlogged tables), or a node paused long enough to be taken for dead,
 * the node sees it at its next beat (its row missing or stale) and writes its users again.
 *
 * Nodes showing someone's presence do not trust what a hint says; a hint (the ids whose
 * presence may have changed) makes them read those users' state again. Why: the state read
 * after a hint arrived includes the change that sent it, so there is nothing to order
 * between nodes, no versions, no race between a first read and the changes that follow
 * it. Reads are batched, one in flight per node, so the database sees at most one presence
 * read per node at a time whatever the traffic, and only for users someone on that node is
 * watching: a transition in a group of 100k members costs nothing on a node where nobody
 * is looking at that user.
 */
import type { Migration } from '@herald/database';
import { select, type Sql } from '@herald/projections';
import { z } from 'zod';
import { Drain } from './drain.js';
import type { Signal } from './signals.js';

export const PRESENCE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'presence-001-tables',
    sql: `
      CREATE UNLOGGED TABLE presence_nodes (
        node_id       uuid PRIMARY KEY,
        heartbeat_at  timestamptz NOT NULL
      );
      CREATE UNLOGGED TABLE presence_connections (
        user_id  uuid NOT NULL,
        node_id  uuid NOT NULL,
        PRIMARY KEY (user_id, node_id)
      );
      CREATE INDEX presence_connections_by_node ON presence_connections (node_id);
      CREATE TABLE presence_last_seen (
        user_id       uuid PRIMARY KEY,
        last_seen_at  timestamptz NOT NULL
      );
    `,
  },
];

const Seen = z.object({ userId: z.string(), online: z.boolean(), lastSeenAt: z.date().nullable() });

/** A node is dead when its last beat is older than this many intervals. */
export const STALE_BEATS = 3;
/** Users per write or read of the presence tables. */
const BATCH = 500;
const RETRY_MS = 1_000;

/** What a watcher is told about a user. */
export interface PresenceView {
  readonly userId: string;
  readonly online: boolean;
  /** When the user's last socket closed; null while online, and for users never seen or not visible. */
  readonly lastSeenAt: string | null;
}

/** What a user the caller may not see, or who does not exist, looks like: nothing to tell them apart. */
export const unknownPresence = (userId: string): PresenceView => ({ userId, online: false, lastSeenAt: null });

export type Query = (sql: string, params: unknown[]) => Promise<unknown>;

/**
 * Of these (user, watcher) pairs, `watcher user` for each watcher that may see the user's
 * presence: a read of the membership and directory read models (presence-visibility.ts,
 * through the QueryBus).
 */
export type MayWatch = (pairs: readonly (readonly [string, string])[]) => Promise<Set<string>>;

export interface PresenceOptions<W> {
  readonly query: Query;
  readonly mayWatch: MayWatch;
  readonly nodeId: string;
  readonly heartbeatMs: number;
  /** To the other nodes, through the signal bus. */
  readonly publish: (signal: Signal) => void;
  /** Changes to the users a watcher watches (after the snapshot `watch` returned). */
  readonly deliver: (watcher: W, views: readonly PresenceView[]) => void;
  /**
   * Whether the read models visibility is read from (membership, contacts, blocks) are
   * current: while not, changes are withheld, never delivered on stale visibility.
   */
  readonly visibilityCurrent: () => Promise<boolean>;
  readonly log: (level: 'warn' | 'error', message: string) => void;
}

/** One watcher's subscription: the users it may see and asked for. */
interface Watch<W> {
  readonly watcher: W;
  readonly userId: string;
  readonly userIds: Set<string>;
  /** False until its snapshot is taken: changes before that are in the snapshot. */
  ready: boolean;
}

export class Presence<W extends object> {
  // This node's sockets.
  private readonly sockets = new Map<string, number>();
  /** Users with a row of this node in presence_connections, as far as this node knows. */
  private readonly written = new Set<string>();
  /** Users whose row may need writing or deleting. */
  private readonly unwritten = new Set<string>();
  private readonly writing = new Drain(
    () => this.write(),
    () => this.unwritten.size > 0 && !this.stopped,
  );

  // What this node's clients watch.
  private readonly watches = new Map<W, Watch<W>>();
  private readonly watchersOf = new Map<string, Set<Watch<W>>>();
  /** The last state read of each watched user. */
  private readonly known = new Map<string, PresenceView>();
  /** Watched users to read again. */
  private readonly stale = new Set<string>();
  private readonly waiting = new Set<{ readonly userIds: Set<string>; readonly done: () => void }>();
  private readonly reading = new Drain(
    () => this.read(),
    () => this.stale.size > 0 && !this.stopped,
  );

  private beating: Promise<void> | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: PresenceOptions<W>) {}

  private get db(): Sql {
    return { query: this.options.query };
  }

  private get staleMs(): number {
    return STALE_BEATS * this.options.heartbeatMs;
  }

  /** Registers the node (before any socket opens), then beats. */
  async start(): Promise<void> {
    await this.beat();
  }

  /** Forgets this node at once: its users that have no socket elsewhere are offline now. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.beatTimer);
    await Promise.all([this.beating, this.writing.idle(), this.reading.idle()]);
    for (const wait of this.waiting) wait.done();
    try {
      await this.options.query(
        `WITH node AS (DELETE FROM presence_nodes WHERE node_id = $1),
              gone AS (DELETE FROM presence_connections WHERE node_id = $1 RETURNING user_id)
         INSERT INTO presence_last_seen (user_id, last_seen_at) SELECT user_id, now() FROM gone
         ON CONFLICT (user_id) DO UPDATE SET last_seen_at = greatest(presence_last_seen.last_seen_at, excluded.last_seen_at)`,
        [this.options.nodeId],
      );
      this.options.publish({ kind: 'node-gone', nodeId: this.options.nodeId });
    } catch (error) {
      // The others will find this node dead after STALE_BEATS intervals.
      this.options.log('warn', `presence: node not removed: ${message(error)}`);
    }
  }

  // ---------------------------------------------------------------- this node's sockets

  opened(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count === 1) this.toWrite(userId);
  }

  /** Whether the user has a socket open on this node (exact: this node's own count). */
  hasSocket(userId: string): boolean {
    return this.sockets.has(userId);
  }

  closed(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return;
    }
    this.sockets.delete(userId);
    this.toWrite(userId);
  }

  private toWrite(userId: string): void {
    this.unwritten.add(userId);
    this.writing.kick();
  }

  /** Brings presence_connections in line with the sockets, a batch at a time, in order. */
  private async write(): Promise<void> {
    while (this.unwritten.size > 0 && !this.stopped) {
      const batch = take(this.unwritten, BATCH);
      const up = batch.filter((id) => this.sockets.has(id) && !this.written.has(id));
      const down = batch.filter((id) => !this.sockets.has(id) && this.written.has(id));
      if (up.length === 0 && down.length === 0) continue;
      try {
        await this.options.query(
          `WITH up AS (
                 INSERT INTO presence_connections (user_id, node_id) SELECT unnest($2::uuid[]), $1
                 ON CONFLICT DO NOTHING),
               down AS (
                 DELETE FROM presence_connections WHERE node_id = $1 AND user_id = ANY($3::uuid[]) RETURNING user_id)
           INSERT INTO presence_last_seen (user_id, last_seen_at) SELECT user_id, now() FROM down
           ON CONFLICT (user_id) DO UPDATE SET last_seen_at = greatest(presence_last_seen.last_seen_at, excluded.last_seen_at)`,
          [this.options.nodeId, up, down],
        );
      } catch (error) {
        for (const id of batch) this.unwritten.add(id);
        this.options.log('warn', `presence: write failed: ${message(error)}; retrying`);
        await sleep(RETRY_MS);
        continue;
      }
      for (const id of up) this.written.add(id);
      for (const id of down) this.written.delete(id);
      const changed = [...up, ...down];
      this.options.publish({ kind: 'presence', userIds: changed });
      this.hinted(changed);
    }
  }

  // ---------------------------------------------------------------- heartbeat and the dead

  private scheduleBeat(): void {
    if (this.stopped) return;
    this.beatTimer = setTimeout(() => void this.beat(), this.options.heartbeatMs);
  }

  private beat(): Promise<void> {
    this.beating = this.beatOnce().finally(() => {
      this.beating = undefined;
      this.scheduleBeat();
    });
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      const [beat] = await select(
        this.db,
        z.object({ lapsed: z.boolean() }),
        `WITH before AS (SELECT heartbeat_at FROM presence_nodes WHERE node_id = $1),
              beat AS (
                INSERT INTO presence_nodes (node_id, heartbeat_at) VALUES ($1, now())
                ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()
                RETURNING xmax = 0 AS inserted)
         -- Lapsed: stale, or the row was gone when written (deleted while this beat waited on
         -- it, which 'before', read earlier, cannot tell).
         SELECT (SELECT inserted FROM beat)
                OR coalesce((SELECT heartbeat_at FROM before) < now() - $2 * interval '1 millisecond', true) AS lapsed`,
        [this.options.nodeId, this.staleMs],
      );
      if (beat?.lapsed && this.sockets.size > 0) {
        // Taken for dead (or the table was lost): write every user of this node again.
        this.options.log('warn', 'presence: this node was missing or stale; registering its users again');
        this.written.clear();
        for (const userId of this.sockets.keys()) this.toWrite(userId);
      }
      const dead = await select(
        this.db,
        z.object({ nodeId: z.string() }),
        `WITH dead AS (
                DELETE FROM presence_nodes WHERE heartbeat_at < now() - $1 * interval '1 millisecond'
                RETURNING node_id, heartbeat_at),
              gone AS (
                DELETE FROM presence_connections c USING dead d WHERE c.node_id = d.node_id
                RETURNING c.user_id, d.heartbeat_at),
              seen AS (
                INSERT INTO presence_last_seen (user_id, last_seen_at)
                SELECT user_id, max(heartbeat_at) FROM gone GROUP BY user_id
                ON CONFLICT (user_id) DO UPDATE
                  SET last_seen_at = greatest(presence_last_seen.last_seen_at, excluded.last_seen_at))
         SELECT node_id AS "nodeId" FROM dead`,
        [this.staleMs],
      );
      for (const { nodeId } of dead) {
        this.options.log('warn', `presence: node ${nodeId} missed its heartbeats; its users are offline`);
        this.options.publish({ kind: 'node-gone', nodeId });
      }
      if (dead.length > 0) this.nodeGone();
    } catch (error) {
      this.options.log('warn', `presence: heartbeat failed: ${message(error)}`);
    }
  }

  // ---------------------------------------------------------------- watching

  /**
   * Makes `watcher` watch `userIds` (users it may see), replacing what it watched. Resolves
   * with their state now; later changes go to `deliver`. Resolves undefined when the
   * watcher was replaced or removed meanwhile.
   */
  async watch(watcher: W, watcherUserId: string, userIds: readonly string[]): Promise<PresenceView[] | undefined> {
    this.unwatch(watcher);
    const watch: Watch<W> = { watcher, userId: watcherUserId, userIds: new Set(userIds), ready: false };
    this.watches.set(watcher, watch);
    const unknown = new Set<string>();
    for (const userId of watch.userIds) {
      const set = this.watchersOf.get(userId) ?? new Set<Watch<W>>();
      set.add(watch);
      this.watchersOf.set(userId, set);
      if (!this.known.has(userId)) unknown.add(userId);
    }
    if (unknown.size > 0) {
      await new Promise<void>((done) => {
        this.waiting.add({ userIds: unknown, done });
        this.markStale(unknown);
      });
    }
    if (this.watches.get(watcher) !== watch) return undefined;
    watch.ready = true;
    return [...watch.userIds].map((id) => this.known.get(id) ?? unknownPresence(id));
  }

  unwatch(watcher: W): void {
    const watch = this.watches.get(watcher);
    if (!watch) return;
    this.watches.delete(watcher);
    for (const userId of watch.userIds) this.forget(watch, userId);
  }

  private forget(watch: Watch<W>, userId: string): void {
    const set = this.watchersOf.get(userId);
    if (!set) return;
    set.delete(watch);
    if (set.size > 0) return;
    this.watchersOf.delete(userId);
    this.known.delete(userId);
    this.stale.delete(userId);
  }

  /** Another node (or this one) says these users' presence may have changed. */
  hinted(userIds: readonly string[]): void {
    this.markStale(userIds);
  }

  /** A node went away: whoever was online may not be any more. */
  nodeGone(): void {
    this.markStale([...this.known.values()].filter((view) => view.online).map((view) => view.userId));
  }

  /** Signals may have been missed: read everything watched again. */
  resumed(): void {
    this.markStale([...this.watchersOf.keys()]);
  }

  private markStale(userIds: Iterable<string>): void {
    for (const userId of userIds) if (this.watchersOf.has(userId)) this.stale.add(userId);
    this.reading.kick();
  }

  /** Reads stale users' state, a batch at a time, and delivers what changed. */
  private async read(): Promise<void> {
    while (this.stale.size > 0 && !this.stopped) {
      const batch = take(this.stale, BATCH);
      // Who watches each of them, to check again that they may still see them.
      const pairs = batch.flatMap((userId) =>
        [...new Set([...(this.watchersOf.get(userId) ?? [])].map((w) => w.userId))].map(
          (watcher) => [userId, watcher] as const,
        ),
      );
      let rows: { userId: string; online: boolean; lastSeenAt: Date | null; visibleTo: string[] }[];
      let current: boolean;
      try {
        // Checked before the read, as a REST query is: the visibility it reads is then no
        // older than the bound requireCurrent vouches for.
        current = await this.options.visibilityCurrent();
        const seen = await select(
          this.db,
          Seen,
          `SELECT u.user_id AS "userId",
                  EXISTS (SELECT 1 FROM presence_connections c JOIN presence_nodes n USING (node_id)
                           WHERE c.user_id = u.user_id
                             AND n.heartbeat_at >= now() - $2 * interval '1 millisecond') AS online,
                  greatest((SELECT s.last_seen_at FROM presence_last_seen s WHERE s.user_id = u.user_id),
                           (SELECT max(n.heartbeat_at) FROM presence_connections c JOIN presence_nodes n USING (node_id)
                             WHERE c.user_id = u.user_id)) AS "lastSeenAt"
             FROM unnest($1::uuid[]) AS u(user_id)`,
          [batch, this.staleMs],
        );
        const visible = await this.options.mayWatch(pairs);
        rows = seen.map((row) => ({
          ...row,
          visibleTo: pairs
            .filter(([userId, watcher]) => userId === row.userId && visible.has(`${watcher} ${userId}`))
            .map((pair) => pair[1]),
        }));
      } catch (error) {
        for (const id of batch) if (this.watchersOf.has(id)) this.stale.add(id);
        this.options.log('warn', `presence: read failed: ${message(error)}; retrying`);
        await sleep(RETRY_MS);
        continue;
      }
      const changes = new Map<Watch<W>, PresenceView[]>();
      /** Changed users whose watchers cannot be told now: read again once visibility is current. */
      const withheld: string[] = [];
      for (const row of rows) {
        const watchers = this.watchersOf.get(row.userId);
        if (!watchers) continue;
        // A socket on this node is online whether or not its row is written yet.
        const online = row.online || this.sockets.has(row.userId);
        const view: PresenceView = {
          userId: row.userId,
          online,
          lastSeenAt: online || !row.lastSeenAt ? null : row.lastSeenAt.toISOString(),
        };
        const before = this.known.get(row.userId);
        const changed =
          before !== undefined && (before.online !== view.online || before.lastSeenAt !== view.lastSeenAt);
        if (changed && !current && [...watchers].some((watch) => watch.ready)) {
          // Fail closed: whom this change may reach cannot be decided now. It stays unknown
          // to this node (the last state delivered stays `known`), so it is read and
          // delivered, visibility checked again, once the read models are current.
          withheld.push(row.userId);
          continue;
        }
        this.known.set(row.userId, view);
        if (!changed) continue;
        const visibleTo = new Set(row.visibleTo);
        // The watchers this read checked. One that started watching while it read is not among
        // them: its own check, as it started, is as recent as this read; it is told the change.
        const checked = new Set(pairs.filter(([userId]) => userId === row.userId).map(([, watcher]) => watcher));
        for (const watch of [...watchers]) {
          if (!watch.ready) continue;
          // Visibility was checked when the watcher subscribed. Since then a block, a contact
          // removed or a conversation left may have ended it: hidden from this change on.
          const hidden = checked.has(watch.userId) && !visibleTo.has(watch.userId);
          if (hidden) {
            this.forget(watch, row.userId);
            watch.userIds.delete(row.userId);
          }
          const list = changes.get(watch) ?? [];
          list.push(hidden ? unknownPresence(row.userId) : view);
          changes.set(watch, list);
        }
      }
      for (const wait of this.waiting) {
        for (const id of batch) wait.userIds.delete(id);
        if (wait.userIds.size === 0) {
          this.waiting.delete(wait);
          wait.done();
        }
      }
      for (const [watch, views] of changes) {
        if (this.watches.get(watch.watcher) === watch) this.options.deliver(watch.watcher, views);
      }
      if (withheld.length > 0) {
        await sleep(RETRY_MS);
        for (const id of withheld) if (this.watchersOf.has(id)) this.stale.add(id);
      }
    }
    if (this.stopped) for (const wait of this.waiting) wait.done();
  }
}

/**
 * The users among `userIds` that `callerId` may see: themselves, their contacts, and the
 * members of conversations they are in, unless either has blocked the other.
 */
export async function visibleUsers(
  mayWatch: MayWatch,
  callerId: string,
  userIds: readonly string[],
): Promise<string[]> {
  const unique = [...new Set(userIds)];
  const visible = await mayWatch(unique.map((userId) => [userId, callerId] as const));
  return unique.filter((userId) => visible.has(`${callerId} ${userId}`));
}

/** Removes and returns up to `count` items of `set`, oldest first. */
function take(set: Set<string>, count: number): string[] {
  const taken: string[] = [];
  for (const item of set) {
    if (taken.length === count) break;
    taken.push(item);
  }
  for (const item of taken) set.delete(item);
  return taken;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
