/**
 * WebSocket push (`/ws`, the `ws` library). A client authenticates in the handshake
 * (`Authorization: Bearer`, or `?access_token=` for browsers, which cannot set headers),
 * from an allowed Origin, then sends `sync` with the last seq it has per conversation. For
 * each conversation it may read, the server sends what it missed from the conversation's
 * stream, then live events, in seq order, with no gap and no duplicate at the seam: live
 * events are queued while the catch-up reads, and the seam is checked by seq. Past
 * MAX_CATCH_UP missed events it sends `resync` (page the history over REST) instead.
 *
 * Each node follows the event log and pushes to its own sockets only. A member who leaves
 * or is kicked stops receiving at once (after the event that removed them); a revoked
 * session closes its sockets. A socket that reads too slowly (send buffer above
 * MAX_BUFFERED) is closed with a resync hint; memory per socket stays bounded.
 *
 * Membership comes first on every path: a socket is added to a conversation's subscribers
 * only once the conversation's stream says it is a member, so neither an event nor a typing
 * signal reaches it before; it is removed, in the same turn, by the event that removes the
 * member; and a typing signal is relayed only while the stream says its sender is a member.
 *
 * Catch-ups have budgets (budgets.ts): every frame handled counts in the user's rate limit
 * (by size; a sync by the ids it names and those refused, a presence frame by its users),
 * refusals included, a limit passed is answered once and pauses the socket, and frames are
 * handled one at a time with a turn of the event loop between two; a user has at most
 * MAX_SOCKETS_PER_USER sockets per process, catch-up
 * bytes per socket and per user per second (past them the catch-up waits), and at most
 * MAX_CONCURRENT_CATCH_UPS reads in flight per process, granted to users in turn. A socket
 * lives as long as its access token unless the client sends a fresh one (`auth`).
 *
 * Typing and presence are ephemeral signals, never events: they cross nodes over the
 * signal bus (PostgreSQL LISTEN/NOTIFY, signals.ts), and presence is kept in the database
 * by every node (presence.ts). A client watches the presence of the users it shows (at
 * most MAX_PRESENCE_USERS at a time), which is what lets presence scale to groups of 100k:
 * nobody is told about users they are not looking at.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import { setImmediate as turn } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import type { HeraldConfig } from '@herald/config';
import { ConversationService } from '@herald/conversations';
import { readEvent } from '@herald/events';
import type { EventStore, RecordedEvent } from '@herald/event-store';
import { IdentityError, IdentityService, type AccessClaims } from '@herald/identity';
import { JsonLogger, RateLimited, Uuid } from '@herald/nest';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { DataSource } from 'typeorm';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { CONFIG, DATABASE_URL, EVENT_STORE } from '../tokens.js';
import { Presence, unknownPresence, visibleUsers, type PresenceView } from './presence.js';
import { SignalBus, type Signal } from './signals.js';
import { ByteBudget, FairGate } from './budgets.js';
import { LiveEvents } from '../live-events.js';
import { RateLimits } from '../auth/rate-limits.js';
import { ProjectionsService, ProjectionsUnavailable } from '../projections.service.js';
import { MEMBERSHIP } from '@herald/projections';

/**
 * Largest client frame (bytes): a sync naming MAX_SYNC_CONVERSATIONS ids with the largest
 * seqs (about 56 KB) and room to spare; anything larger closes the socket with 1009.
 */
export const MAX_PAYLOAD = 64 * 1024;
/** Missed events sent on sync per conversation; beyond, `resync`. */
export const MAX_CATCH_UP = 500;
/** Conversations one sync may name. */
export const MAX_SYNC_CONVERSATIONS = 1_000;
/** A sync takes one token of the user's rate limit, and one more per this many conversations past the first ones. */
export const SYNC_CONVERSATIONS_PER_TOKEN = 100;
/** Events read per page of a catch-up: the unit that budgets and the process's gate apply to. */
export const CATCH_UP_PAGE = 16;
/** Catch-up bytes one socket may be sent a second, and saved up (a reconnect's burst). */
export const CATCH_UP_SOCKET_BYTES_PER_SECOND = 512 * 1024;
export const CATCH_UP_SOCKET_BURST_BYTES = 1024 * 1024;
/** Catch-up bytes all of one user's sockets on a node may be sent a second, and saved up. */
export const CATCH_UP_USER_BYTES_PER_SECOND = 1024 * 1024;
export const CATCH_UP_USER_BURST_BYTES = 2 * 1024 * 1024;
/** Catch-up reads in flight per process, whoever asks; the others wait their user's turn. */
export const MAX_CONCURRENT_CATCH_UPS = 4;
/** A socket's refusals are logged at most once in this interval (with how many were not). */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Bytes a socket may have waiting to be sent before it counts as too slow. */
export const MAX_BUFFERED = 1024 * 1024;
/** Users one presence frame may watch. */
export const MAX_PRESENCE_USERS = 200;
/** A presence frame takes one token of the user's rate limit, and one more per this many users past the first ones. */
export const PRESENCE_USERS_PER_TOKEN = 100;
/**
 * Conversations a sync names that turn out not to be the user's (no such conversation, or
 * not a member) per extra token of the user's rate limit, taken as they are found: an id
 * that is no conversation is read from the store every time (nothing to cache), so this is
 * what bounds the reads one token buys to a sync's own prepaid ones plus this many.
 */
export const SYNC_REFUSALS_PER_TOKEN = 10;
/**
 * Every frame handled costs one token of the user's rate limit, plus one per this many
 * bytes of it, refused or not (a sync or presence frame costs what its ids do if more):
 * no frame type, and no refusal, floods around the limit shared with REST.
 */
export const FRAME_BYTES_PER_TOKEN = 16 * 1024;
/** Sockets one user may have open on one instance; the next handshake is refused with 429. */
export const MAX_SOCKETS_PER_USER = 20;
/** The read models presence visibility is decided from: membership (shared conversations), directory (contacts, blocks). */
const PRESENCE_READ_MODELS = [MEMBERSHIP, 'directory.v1'] as const;
/** Presence frames per second a socket may send (bursts of PRESENCE_FRAMES_BURST): each costs database reads. */
export const PRESENCE_FRAMES_PER_SECOND = 5;
export const PRESENCE_FRAMES_BURST = 10;
/** A socket's typing signals relayed per conversation: one per this interval; the rest are dropped. */
export const TYPING_INTERVAL_MS = 1_000;
/**
 * Frames of one client waiting to be handled: at this many the socket is not read until
 * they are (TCP slows the client down); frames it had sent already are dropped with
 * PUSH.RATE_LIMITED.
 */
export const MAX_WAITING_FRAMES = 100;
/** Close codes. */
export const CLOSE = { sessionRevoked: 4001, tokenExpired: 4002, slowConsumer: 4008 } as const;

/** A conversation's last seq as a client may claim it: -1 (nothing yet) to the largest safe integer. */
const Seq = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);

const ClientFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sync'),
    // Checked as the entries JSON.parse made: a record schema skips a key such as
    // "__proto__" silently, and every key must be an id. The count is checked after, so
    // that too many gets its own error.
    conversations: z.preprocess(
      (value) => (isPlainObject(value) ? new Map(Object.entries(value)) : value),
      z.map(Uuid, Seq),
    ),
  }),
  // A missing or empty token is a refused token (AUTH.INVALID_TOKEN, logged), not a bad frame.
  z.strictObject({ type: z.literal('auth'), accessToken: z.string().max(4096).optional() }),
  z.strictObject({ type: z.literal('typing'), conversationId: Uuid }),
  z.strictObject({ type: z.literal('presence'), userIds: z.array(Uuid) }),
]);
type ClientFrame = z.infer<typeof ClientFrame>;

export type ClientFrameType = ClientFrame['type'];
/** Every type of frame a client may send, from the schema (the authorization matrix has an entry for each). */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ClientFrame.options.map(
  (option) => option.shape.type.value,
);

interface Subscription {
  /** The last seq sent to the client. */
  lastSeq: number;
  /** Live events that arrived while the catch-up was reading. */
  queued: Pushed[] | undefined;
  /** When the client's last typing signal here was relayed. */
  typingAt: number;
  /** The other member of a direct conversation (a block of theirs silences typing). */
  peer: string | undefined;
  /**
   * The seq at which the client was found a member. A removal of theirs up to it is history
   * (they came back since); after it, it ends the subscription.
   */
  memberAt: number;
}

/** An event as it is pushed: read and serialized once, however many sockets it goes to. */
interface Pushed {
  readonly seq: number;
  /** The member the event removes (they get it, and nothing after it). */
  readonly removes: string | undefined;
  readonly frame: Buffer;
}

interface Client {
  readonly socket: WebSocket;
  /** The peer's address, for the security log. */
  readonly ip: string | undefined;
  /** Who the socket is, and the session whose access token it holds (an `auth` frame may change the session). */
  caller: AccessClaims;
  /** Closes the socket when its access token expires. */
  expiry: NodeJS.Timeout | undefined;
  /** This socket's catch-up bytes. */
  readonly catchUpBytes: ByteBudget;
  /** When a refusal was last logged for this socket, and how many were not since. */
  refusalLoggedAt: number;
  refusalsUnlogged: number;
  /** Over the user's rate limit until then: the socket is not read, and frames it had sent are dropped unanswered. */
  limitedUntil: number;
  /** Frames past MAX_WAITING_FRAMES are being dropped (answered once). */
  dropping: boolean;
  readonly subscriptions: Map<string, Subscription>;
  alive: boolean;
  /** The client's frames are handled one at a time, in order: this is the last one's handling. */
  handling: Promise<void>;
  /** Frames received and not handled yet. */
  waiting: number;
  /** Token bucket of presence frames. */
  presenceTokens: number;
  presenceTokensAt: number;
}

@Injectable()
export class PushGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
  private readonly byConversation = new Map<string, Set<Client>>();
  private readonly bySession = new Map<string, Set<Client>>();
  /** Catch-up bytes of each user with a socket on this node, shared by their sockets. */
  private readonly userBudgets = new Map<string, { readonly budget: ByteBudget; sockets: number }>();
  private readonly catchUpGate = new FairGate(MAX_CONCURRENT_CATCH_UPS);
  private heartbeat: NodeJS.Timeout | undefined;
  /** This process among the API nodes, for the signal bus and presence. */
  private readonly nodeId = randomUUID();
  private readonly signals: SignalBus;
  private readonly presence: Presence<Client>;

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly identity: IdentityService,
    private readonly conversations: ConversationService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    live: LiveEvents,
    @Inject(CONFIG) private readonly config: HeraldConfig,
    private readonly logger: JsonLogger,
    private readonly db: DataSource,
    @Inject(DATABASE_URL) databaseUrl: string,
    private readonly limits: RateLimits,
    private readonly projections: ProjectionsService,
  ) {
    const query = (sql: string, params: unknown[]): Promise<unknown> => this.db.query(sql, params);
    const log = (level: 'warn' | 'error', message: string): void => this.logger.emit(level, message, 'Push');
    this.signals = new SignalBus({
      connectionString: databaseUrl,
      nodeId: this.nodeId,
      query,
      onSignals: (signals) => this.signalled(signals),
      onResume: () => this.presence.resumed(),
      log,
    });
    this.presence = new Presence<Client>({
      query,
      nodeId: this.nodeId,
      heartbeatMs: config.presenceHeartbeatMs,
      publish: (signal) => this.signals.publish(signal),
      deliver: (client, users) => this.send(client, { type: 'presence', users }),
      visibilityCurrent: () => this.presenceReadModelsCurrent(),
      log,
    });
    live.on((event) => this.live(event));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.signals.start();
    await this.presence.start();
    const server = this.adapter.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
    this.heartbeat = setInterval(() => this.beat(), this.config.wsHeartbeatMs);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.presence.stop();
    await this.signals.close();
  }

  // ---------------------------------------------------------------- connecting

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return refuse(socket, 404, 'Not Found');
    // A handshake counts against its IP's budget as any request does.
    try {
      this.limits.perIp.take(request.socket.remoteAddress ?? '');
    } catch (error) {
      if (!(error instanceof RateLimited)) throw error;
      return refuse(socket, 429, 'Too Many Requests', { 'retry-after': String(error.retryAfterSeconds) });
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !this.config.wsAllowedOrigins.includes(origin)) {
      this.logger.emit('warn', 'websocket refused: origin not allowed', 'Push', undefined, { origin });
      return refuse(socket, 403, 'Forbidden');
    }
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('access_token') ?? undefined);
    const ip = request.socket.remoteAddress;
    let caller: AccessClaims;
    try {
      if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'no token');
      caller = await this.identity.authenticate(token, new Date());
    } catch (error) {
      // The same line as a REST 401 (the README's security log); a database failure is no refusal.
      if (!(error instanceof IdentityError)) {
        this.logger.emit(
          'warn',
          `websocket refused: ${error instanceof Error ? error.message : String(error)}`,
          'Push',
        );
        return refuse(socket, 503, 'Service Unavailable', { 'retry-after': '1' });
      }
      this.authenticationRefused(error.code, undefined, ip);
      return refuse(socket, 401, 'Unauthorized');
    }
    // Counted here and in connected(), with no await between (the ws library completes a
    // handshake without one when no verifyClient is set): concurrent handshakes cannot pass
    // the check together.
    if ((this.userBudgets.get(caller.userId)?.sockets ?? 0) >= MAX_SOCKETS_PER_USER) {
      this.logger.emit('warn', 'websocket refused: too many sockets', 'Push', undefined, { userId: caller.userId, ip });
      return refuse(socket, 429, 'Too Many Requests');
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.connected(ws, caller, token, ip));
  }

  /** A refused token, logged as REST logs a 401: who (when known), where from, why; never the token. */
  private authenticationRefused(code: string, userId: string | undefined, ip: string | undefined): void {
    this.logger.emit('warn', `authentication refused: ${code}`, 'Push', undefined, { userId, route: '/ws', ip });
  }

  private connected(socket: WebSocket, caller: AccessClaims, token: string, ip: string | undefined): void {
    const now = Date.now();
    const client: Client = {
      socket,
      ip,
      caller,
      expiry: undefined,
      catchUpBytes: new ByteBudget(CATCH_UP_SOCKET_BYTES_PER_SECOND, CATCH_UP_SOCKET_BURST_BYTES, now),
      refusalLoggedAt: 0,
      refusalsUnlogged: 0,
      limitedUntil: 0,
      dropping: false,
      subscriptions: new Map(),
      alive: true,
      handling: Promise.resolve(),
      waiting: 0,
      presenceTokens: PRESENCE_FRAMES_BURST,
      presenceTokensAt: Date.now(),
    };
    add(this.bySession, caller.sessionId, client);
    const budget = this.userBudgets.get(caller.userId);
    if (budget) budget.sockets++;
    else
      this.userBudgets.set(caller.userId, {
        budget: new ByteBudget(CATCH_UP_USER_BYTES_PER_SECOND, CATCH_UP_USER_BURST_BYTES, now),
        sockets: 1,
      });
    this.expireWith(client, token);
    this.presence.opened(caller.userId);
    socket.on('pong', () => (client.alive = true));
    socket.on('message', (data, isBinary) => this.enqueue(client, data, isBinary));
    socket.on('close', () => this.disconnected(client));
    socket.on('error', () => socket.terminate());
  }

  private disconnected(client: Client): void {
    clearTimeout(client.expiry);
    remove(this.bySession, client.caller.sessionId, client);
    const budget = this.userBudgets.get(client.caller.userId);
    if (budget && --budget.sockets === 0) this.userBudgets.delete(client.caller.userId);
    for (const conversationId of client.subscriptions.keys()) remove(this.byConversation, conversationId, client);
    client.subscriptions.clear();
    this.presence.unwatch(client);
    this.presence.closed(client.caller.userId);
  }

  /**
   * Arms the close at the expiry of `token` (verified already): a socket lives no longer
   * than the access token it was opened or last re-authenticated with.
   */
  private expireWith(client: Client, token: string): void {
    clearTimeout(client.expiry);
    const { exp } = decodeJwt(token);
    const inMs = exp === undefined ? 0 : exp * 1000 - Date.now();
    client.expiry = setTimeout(
      () => client.socket.close(CLOSE.tokenExpired, 'access token expired: reconnect, or send auth before'),
      Math.max(0, inMs),
    );
    client.expiry.unref();
  }

  private beat(): void {
    for (const set of this.bySession.values()) {
      for (const client of set) {
        if (!client.alive) {
          client.socket.terminate();
          continue;
        }
        client.alive = false;
        client.socket.ping();
      }
    }
  }

  // ---------------------------------------------------------------- client frames

  /**
   * Frames are handled in the order the client sent them (a typing sent right after a sync
   * finds the subscription; a presence frame's answer never follows a later one's), with a
   * bounded number waiting.
   */
  private enqueue(client: Client, data: WebSocket.RawData, isBinary: boolean): void {
    // Read before the socket was paused, while the client is over its rate limit: dropped
    // unread (the answer saying when to come back was sent once).
    if (Date.now() < client.limitedUntil) return;
    if (client.waiting >= MAX_WAITING_FRAMES) {
      // Once per pause: a backlog read in one go is not answered frame by frame.
      if (client.dropping) return;
      client.dropping = true;
      return this.send(client, {
        type: 'error',
        code: 'PUSH.RATE_LIMITED',
        message: `${MAX_WAITING_FRAMES} frames waiting: frames dropped until they are handled`,
      });
    }
    client.waiting++;
    if (client.waiting === MAX_WAITING_FRAMES) client.socket.pause();
    client.handling = client.handling
      // Back to the event loop between two frames: a socket's backlog of frames is not
      // handled in one go while other users' requests wait.
      .then(() => turn())
      .then(() => this.received(client, data, isBinary))
      .catch((error: unknown) =>
        this.logger.emit('error', `push: ${error instanceof Error ? error.message : String(error)}`, 'Push'),
      )
      .finally(() => {
        client.waiting--;
        if (client.waiting === 0 && Date.now() >= client.limitedUntil) {
          client.dropping = false;
          client.socket.resume();
        }
      });
  }

  /** Takes `cost` tokens of the user's rate limit for a frame; false (and the client told) when over it. */
  private take(client: Client, cost = 1): boolean {
    try {
      this.limits.perUser.take(client.caller.userId, Date.now(), cost);
      return true;
    } catch (error) {
      if (!(error instanceof RateLimited)) throw error;
      this.limited(client, error.retryAfterSeconds);
      return false;
    }
  }

  /**
   * The user is over their rate limit: the first frame refused says when to come back, and
   * the socket is not read until then (what the client sends meanwhile waits in TCP), so a
   * flood costs neither a parse nor an answer per frame. Frames read already are dropped.
   */
  private limited(
    client: Client,
    retryAfterSeconds: number,
    message = 'Too many requests: frame dropped; this socket is read again after retryAfterSeconds',
  ): void {
    const now = Date.now();
    if (now < client.limitedUntil) return;
    client.limitedUntil = now + retryAfterSeconds * 1000;
    this.send(client, { type: 'error', code: 'PUSH.RATE_LIMITED', message, retryAfterSeconds });
    client.socket.pause();
    setTimeout(() => {
      if (client.waiting < MAX_WAITING_FRAMES) client.socket.resume();
    }, retryAfterSeconds * 1000).unref();
  }

  private async received(client: Client, data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    // Frames that waited for a socket closed since are moot.
    if (client.socket.readyState !== WebSocket.OPEN) return;
    // Read before the client went over a limit: dropped unanswered (it was told once).
    if (Date.now() < client.limitedUntil) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    // Every frame is a request of the user's, charged before it is parsed, whatever it turns
    // out to be (junk, a refusal, a typing dropped): a flood is handled at the user's rate,
    // not the network's.
    const paid = frameCost(bytes.length);
    if (!this.take(client, paid)) return;
    let frame: ClientFrame;
    try {
      if (isBinary) throw new Error('binary');
      frame = ClientFrame.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      return this.send(client, {
        type: 'error',
        code: 'PUSH.INVALID_FRAME',
        message: `Send JSON: {"type":"${CLIENT_FRAME_TYPES.join('"|"')}",...}`,
      });
    }
    try {
      await this.handle(client, frame, paid);
    } catch (error) {
      // The database or the event store failed: the client may try again; the node stays up.
      this.logger.emit(
        'warn',
        `push: ${frame.type} failed: ${error instanceof Error ? error.message : String(error)}`,
        'Push',
      );
      this.send(client, { type: 'error', code: 'PUSH.UNAVAILABLE', message: 'Could not be done now; try again' });
    }
  }

  /** `paid`: the tokens the frame was charged already (frameCost). */
  private async handle(client: Client, frame: ClientFrame, paid: number): Promise<void> {
    switch (frame.type) {
      case 'sync': {
        const entries = [...frame.conversations];
        // Counted as requests of the user's (shared with REST), before anything is read or
        // refused: one token per 100 conversations named, of which the frame paid some.
        const cost = 1 + Math.floor(Math.max(0, entries.length - 1) / SYNC_CONVERSATIONS_PER_TOKEN);
        if (cost > paid && !this.take(client, cost - paid)) return;
        if (entries.length > MAX_SYNC_CONVERSATIONS) {
          return this.send(client, {
            type: 'error',
            code: 'PUSH.TOO_MANY',
            message: `At most ${MAX_SYNC_CONVERSATIONS} conversations per sync`,
          });
        }
        let refusals = 0;
        for (const [conversationId, lastSeq] of entries) {
          if (client.socket.readyState !== WebSocket.OPEN) return;
          if (await this.subscribe(client, conversationId, lastSeq)) continue;
          // Past the limit the rest of this sync is not done (the client was told when to come back).
          if (++refusals % SYNC_REFUSALS_PER_TOKEN === 0 && !this.take(client)) return;
        }
        return;
      }
      case 'auth': {
        const token = frame.accessToken;
        let caller: AccessClaims;
        try {
          if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'no token');
          caller = await this.identity.authenticate(token, new Date());
          if (caller.userId !== client.caller.userId) {
            throw new IdentityError('AUTH.INVALID_TOKEN', 'a token of another user');
          }
        } catch (error) {
          // A database failure is no refusal: PUSH.UNAVAILABLE (try again), as for any frame.
          if (!(error instanceof IdentityError)) throw error;
          this.authenticationRefused(error.code, client.caller.userId, client.ip);
          // The socket keeps the token it had, and its expiry.
          return this.send(client, {
            type: 'error',
            code: 'AUTH.INVALID_TOKEN',
            message: 'Send a valid access token of the user this socket is',
          });
        }
        if (client.socket.readyState !== WebSocket.OPEN) return;
        // Its session now (a sign-out of the old one no longer closes it; of the new one does).
        remove(this.bySession, client.caller.sessionId, client);
        client.caller = caller;
        add(this.bySession, caller.sessionId, client);
        this.expireWith(client, token);
        const { exp } = decodeJwt(token);
        return this.send(client, {
          type: 'authenticated',
          expiresAt: new Date((exp ?? 0) * 1000).toISOString(),
        });
      }
      case 'typing': {
        const subscription = client.subscriptions.get(frame.conversationId);
        if (!subscription) return this.notFound(client, frame.conversationId);
        const now = Date.now();
        if (now - subscription.typingAt < TYPING_INTERVAL_MS) return;
        subscription.typingAt = now;
        const userId = client.caller.userId;
        // Paid as every frame is (one token: a relayed signal costs reads and a NOTIFY).
        // The stream, not what this node has followed so far, says whether they are still a
        // member: a kick not delivered yet silences them already (the kick's event ends the
        // subscription when it arrives). At most one read a second per socket and conversation.
        const state = await this.conversations.state(frame.conversationId);
        if (!state.members.has(userId) || client.subscriptions.get(frame.conversationId) !== subscription) return;
        // As a message to them would be refused: silently, as for anyone else.
        if (subscription.peer !== undefined && (await this.identity.hasBlocked(subscription.peer, userId))) return;
        this.typing(frame.conversationId, userId);
        this.signals.publish({ kind: 'typing', conversationId: frame.conversationId, userId });
        return;
      }
      case 'presence': {
        const userIds = [...new Set(frame.userIds)];
        // Requests of the user's too (each reads the read models), shared with REST and sync,
        // refused or not: one token per 100 users named, of which the frame paid some.
        const cost = 1 + Math.floor(Math.max(0, userIds.length - 1) / PRESENCE_USERS_PER_TOKEN);
        if (cost > paid && !this.take(client, cost - paid)) return;
        if (userIds.length > MAX_PRESENCE_USERS) {
          return this.send(client, {
            type: 'error',
            code: 'PUSH.TOO_MANY',
            message: `At most ${MAX_PRESENCE_USERS} users per presence frame`,
          });
        }
        // Past the socket's own limit: answered once, and the socket is not read until a
        // frame would pass again (as past the user's), never an answer per frame.
        const wait = takePresenceToken(client);
        if (wait > 0) {
          return this.limited(
            client,
            Math.max(1, Math.ceil(wait / 1000)),
            `At most ${PRESENCE_FRAMES_PER_SECOND} presence frames per second: this socket is read again after retryAfterSeconds`,
          );
        }
        // The last watch ends now: no change of it arrives after this frame's answer.
        this.presence.unwatch(client);
        // Fail closed: who may be seen is decided from the read models, never stale ones.
        if (!(await this.presenceReadModelsCurrent())) {
          return this.send(client, {
            type: 'error',
            code: 'PUSH.UNAVAILABLE',
            message: 'Presence cannot be decided now; send the frame again shortly',
          });
        }
        const visible = await visibleUsers((sql, params) => this.db.query(sql, params), client.caller.userId, userIds);
        if (client.socket.readyState !== WebSocket.OPEN) return;
        const views = await this.presence.watch(client, client.caller.userId, visible);
        if (!views) return;
        const byId = new Map<string, PresenceView>(views.map((view) => [view.userId, view]));
        this.send(client, { type: 'presence', users: userIds.map((id) => byId.get(id) ?? unknownPresence(id)) });
        return;
      }
      default: {
        const unhandled: never = frame;
        return unhandled;
      }
    }
  }

  /** Resolves false when the conversation was refused (no such conversation, or not a member). */
  private async subscribe(client: Client, conversationId: string, claimed: number): Promise<boolean> {
    const userId = client.caller.userId;
    // Membership first, from the conversation's stream: until it says so the socket is in no
    // subscriber set, and nothing of the conversation (event, typing) can reach it. For an
    // outsider this is all a sync costs: one state read, cached when the conversation exists
    // (an id that is none is read again each time: the caller charges refusals for it).
    const state = await this.conversations.state(conversationId);
    if (client.socket.readyState !== WebSocket.OPEN) return true;
    if (!state.members.has(userId)) {
      // Not a member (any more): whatever subscription the socket had ends too.
      this.unsubscribe(client, conversationId);
      this.notFound(client, conversationId);
      return false;
    }
    const previous = client.subscriptions.get(conversationId);
    const subscription: Subscription = {
      // A client cannot have seqs that do not exist yet: it goes on from the last one there is.
      lastSeq: Math.min(claimed, state.seq),
      // Live events from now on wait here while the catch-up reads; the read covers those
      // committed before, and the seam drops what both have.
      queued: [],
      typingAt: previous?.typingAt ?? 0,
      peer: state.kind === 'direct' ? [...state.members.keys()].find((id) => id !== userId) : undefined,
      memberAt: state.seq,
    };
    client.subscriptions.set(conversationId, subscription);
    add(this.byConversation, conversationId, client);
    try {
      if (state.seq - subscription.lastSeq > MAX_CATCH_UP) {
        subscription.lastSeq = state.seq;
        this.send(client, {
          type: 'resync',
          conversationId,
          seq: state.seq,
          reason: `more than ${MAX_CATCH_UP} events missed`,
        });
      }
      await this.catchUp(client, conversationId, subscription);
    } catch (error) {
      this.unsubscribe(client, conversationId, subscription);
      throw error;
    }
    if (client.subscriptions.get(conversationId) !== subscription) return true;
    const queued = subscription.queued ?? [];
    subscription.queued = undefined;
    for (const event of queued) this.deliver(client, conversationId, subscription, event);
    if (client.subscriptions.get(conversationId) === subscription) {
      this.send(client, { type: 'synced', conversationId, seq: subscription.lastSeq });
    }
    return true;
  }

  /**
   * Whether the read models presence visibility is read from can be trusted now (ADR 009:
   * fail closed). False when either is stopped or too far behind.
   */
  private async presenceReadModelsCurrent(): Promise<boolean> {
    try {
      for (const name of PRESENCE_READ_MODELS) await this.projections.requireCurrent(name);
      return true;
    } catch (error) {
      // Not logged here: the projection's stop or lag is logged where it happens, once.
      if (!(error instanceof ProjectionsUnavailable)) throw error;
      return false;
    }
  }

  /**
   * Reads what the client missed, a page at a time: each page waits until neither the
   * socket's nor the user's byte budget is in debt, then for a slot of the process's gate
   * (held only while reading and serializing), and is charged to both once sent. Stops when
   * the stream has no more, or where the live events queued meanwhile take over.
   */
  private async catchUp(client: Client, conversationId: string, subscription: Subscription): Promise<void> {
    const userId = client.caller.userId;
    const current = (): boolean =>
      client.socket.readyState === WebSocket.OPEN && client.subscriptions.get(conversationId) === subscription;
    for (;;) {
      for (;;) {
        const now = Date.now();
        const wait = Math.max(client.catchUpBytes.waitMs(now), this.userBudgets.get(userId)?.budget.waitMs(now) ?? 0);
        if (wait === 0) break;
        await sleep(wait);
      }
      if (!current()) return;
      const release = await this.catchUpGate.acquire(userId);
      let page: Pushed[];
      try {
        if (!current()) return;
        const events = await this.store.readStream(`conversation-${conversationId}`, {
          from: subscription.lastSeq + 1,
          limit: CATCH_UP_PAGE,
        });
        page = events.map((event) => pushed(conversationId, event));
      } finally {
        release();
      }
      let bytes = 0;
      for (const event of page) {
        bytes += event.frame.length;
        this.deliver(client, conversationId, subscription, event);
      }
      const now = Date.now();
      client.catchUpBytes.charge(bytes, now);
      this.userBudgets.get(userId)?.budget.charge(bytes, now);
      if (page.length < CATCH_UP_PAGE || !current()) return;
      const live = subscription.queued?.[0];
      if (live && live.seq <= subscription.lastSeq + 1) return;
    }
  }

  /** Ends the socket's subscription to the conversation (only `subscription`, when given). */
  private unsubscribe(client: Client, conversationId: string, subscription?: Subscription): void {
    const current = client.subscriptions.get(conversationId);
    if (!current || (subscription && current !== subscription)) return;
    client.subscriptions.delete(conversationId);
    remove(this.byConversation, conversationId, client);
  }

  private notFound(client: Client, conversationId: string): void {
    // Logged, but not a line per frame: an outsider naming ids in a loop would fill the log.
    const now = Date.now();
    if (now - client.refusalLoggedAt >= REFUSAL_LOG_INTERVAL_MS) {
      this.logger.emit('warn', 'authorization refused: CONVERSATION.NOT_FOUND', 'Push', undefined, {
        userId: client.caller.userId,
        conversationId,
        ...(client.refusalsUnlogged > 0 ? { unloggedSince: client.refusalsUnlogged } : {}),
      });
      client.refusalLoggedAt = now;
      client.refusalsUnlogged = 0;
    } else {
      client.refusalsUnlogged++;
    }
    this.send(client, {
      type: 'error',
      code: 'CONVERSATION.NOT_FOUND',
      conversationId,
      message: 'No such conversation, or you are not a member',
    });
  }

  // ---------------------------------------------------------------- signals

  /** Tells the conversation's subscribers on this node that `userId` is typing (not the typist's own sockets). */
  private typing(conversationId: string, userId: string): void {
    for (const other of this.byConversation.get(conversationId) ?? []) {
      if (other.caller.userId !== userId) this.send(other, { type: 'typing', conversationId, userId });
    }
  }

  private signalled(signals: readonly Signal[]): void {
    for (const signal of signals) {
      switch (signal.kind) {
        case 'typing':
          this.typing(signal.conversationId, signal.userId);
          break;
        case 'presence':
          this.presence.hinted(signal.userIds);
          break;
        case 'node-gone':
          this.presence.nodeGone();
          break;
        default: {
          const unhandled: never = signal;
          return unhandled;
        }
      }
    }
  }

  // ---------------------------------------------------------------- live events

  private live(event: RecordedEvent): void {
    if (event.type === 'SessionRevoked') {
      const sessionId = event.streamId.slice('session-'.length);
      for (const client of [...(this.bySession.get(sessionId) ?? [])])
        client.socket.close(CLOSE.sessionRevoked, 'session revoked');
      return;
    }
    if (!event.streamId.startsWith('conversation-')) return;
    const conversationId = event.streamId.slice('conversation-'.length);
    const clients = this.byConversation.get(conversationId);
    if (!clients) return;
    const ready = pushed(conversationId, event);
    for (const client of [...clients]) {
      const subscription = client.subscriptions.get(conversationId);
      if (!subscription) continue;
      if (subscription.queued) subscription.queued.push(ready);
      else this.deliver(client, conversationId, subscription, ready);
    }
  }

  /** Sends one event if it is the next in seq; the seam drops what was sent and refetches a gap. */
  private deliver(client: Client, conversationId: string, subscription: Subscription, event: Pushed): void {
    // Ended meanwhile (a removal delivered by an earlier call of a catch-up's loop): nothing more.
    if (client.subscriptions.get(conversationId) !== subscription) return;
    if (event.seq > subscription.lastSeq + 1) {
      // Cannot happen while this node follows the log in order; say so rather than skip.
      subscription.lastSeq = event.seq;
      this.send(client, { type: 'resync', conversationId, seq: event.seq, reason: 'gap' });
    } else if (event.seq === subscription.lastSeq + 1) {
      subscription.lastSeq = event.seq;
      this.write(client, event.frame);
    }
    // Whoever left or was kicked gets the event that says so (unless they had it), and
    // nothing after it; looked at whatever was sent, so that no path can skip it.
    if (event.removes === client.caller.userId && event.seq > subscription.memberAt) {
      client.subscriptions.delete(conversationId);
      remove(this.byConversation, conversationId, client);
    }
  }

  private send(client: Client, frame: object): void {
    this.write(client, Buffer.from(JSON.stringify(frame)));
  }

  private write(client: Client, frame: Buffer): void {
    const socket = client.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED) {
      socket.close(CLOSE.slowConsumer, 'too slow: reconnect and sync');
      // A peer that does not read will not read the close frame either.
      setTimeout(() => socket.terminate(), 1_000).unref();
      return;
    }
    socket.send(frame, { binary: false });
  }
}

/** Reads an event through the catalogue and serializes its frame, once. */
function pushed(conversationId: string, event: RecordedEvent): Pushed {
  const { data } = readEvent(event);
  const removes =
    event.type === 'MemberLeft' || event.type === 'MemberKicked' ? (data as { userId: string }).userId : undefined;
  const frame = {
    type: 'event',
    conversationId,
    seq: event.streamRevision,
    event: {
      eventId: event.eventId,
      type: event.type,
      data,
      actorId: event.metadata.actorId,
      occurredAt: event.metadata.occurredAt,
    },
  };
  return { seq: event.streamRevision, removes, frame: Buffer.from(JSON.stringify(frame)) };
}

/** Takes a token from the client's presence bucket: 0, or (none taken) the ms until there is one. */
function takePresenceToken(client: Client, now = Date.now()): number {
  client.presenceTokens = Math.min(
    PRESENCE_FRAMES_BURST,
    client.presenceTokens + ((now - client.presenceTokensAt) / 1000) * PRESENCE_FRAMES_PER_SECOND,
  );
  client.presenceTokensAt = now;
  if (client.presenceTokens < 1) return ((1 - client.presenceTokens) / PRESENCE_FRAMES_PER_SECOND) * 1000;
  client.presenceTokens -= 1;
  return 0;
}

/** The tokens of the user's rate limit a frame of `bytes` costs before it is even parsed. */
export function frameCost(bytes: number): number {
  return 1 + Math.floor(bytes / FRAME_BYTES_PER_TOKEN);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key) ?? new Set<V>();
  set.add(value);
  map.set(key, set);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
