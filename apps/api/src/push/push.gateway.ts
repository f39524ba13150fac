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
 * session closes its sockets. Typing signals are ephemeral: never events, this node only.
 * A socket that reads too slowly (send buffer above MAX_BUFFERED) is closed with a resync
 * hint; memory per socket stays bounded.
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { HeraldConfig } from '@herald/config';
import { ConversationService } from '@herald/conversations';
import { readEvent } from '@herald/events';
import type { EventStore, RecordedEvent } from '@herald/event-store';
import { IdentityService, type AccessClaims } from '@herald/identity';
import { JsonLogger } from '@herald/nest';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { CONFIG, EVENT_STORE } from '../tokens.js';

/** Largest client frame (bytes): clients send small control messages only. */
export const MAX_PAYLOAD = 16 * 1024;
/** Missed events sent on sync per conversation; beyond, `resync`. */
export const MAX_CATCH_UP = 500;
/** Conversations one sync may name. */
export const MAX_SYNC_CONVERSATIONS = 1_000;
/** Bytes a socket may have waiting to be sent before it counts as too slow. */
export const MAX_BUFFERED = 1024 * 1024;
/** Close codes. */
export const CLOSE = { sessionRevoked: 4001, slowConsumer: 4008 } as const;

const ClientFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sync'),
    conversations: z.record(z.uuid(), z.number().int().min(-1)),
  }),
  z.strictObject({ type: z.literal('typing'), conversationId: z.uuid() }),
]);

interface Subscription {
  /** The last seq sent to the client. */
  lastSeq: number;
  /** Live events that arrived while the catch-up was reading. */
  queued: RecordedEvent[] | undefined;
}

interface Client {
  readonly socket: WebSocket;
  readonly caller: AccessClaims;
  readonly subscriptions: Map<string, Subscription>;
  alive: boolean;
}

@Injectable()
export class PushGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
  private readonly byConversation = new Map<string, Set<Client>>();
  private readonly bySession = new Map<string, Set<Client>>();
  private readonly following = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private follower: Promise<void> | undefined;

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly identity: IdentityService,
    private readonly conversations: ConversationService,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CONFIG) private readonly config: HeraldConfig,
    private readonly logger: JsonLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const server = this.adapter.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
    this.heartbeat = setInterval(() => this.beat(), this.config.wsHeartbeatMs);
    // Live events from now on; anything earlier a client gets by catching up.
    const from = await this.store.headCheckpoint();
    this.follower = this.follow(from);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.heartbeat);
    this.following.abort();
    await this.follower;
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  // ---------------------------------------------------------------- connecting

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return refuse(socket, 404, 'Not Found');
    const origin = request.headers.origin;
    if (origin !== undefined && !this.config.wsAllowedOrigins.includes(origin)) {
      this.logger.emit('warn', 'websocket refused: origin not allowed', 'Push', undefined, { origin });
      return refuse(socket, 403, 'Forbidden');
    }
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('access_token') ?? undefined);
    let caller: AccessClaims;
    try {
      if (!token) throw new Error('no token');
      caller = await this.identity.authenticate(token, new Date());
    } catch {
      this.logger.emit('warn', 'websocket refused: not authenticated', 'Push', undefined, {
        ip: request.socket.remoteAddress,
      });
      return refuse(socket, 401, 'Unauthorized');
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.connected(ws, caller));
  }

  private connected(socket: WebSocket, caller: AccessClaims): void {
    const client: Client = { socket, caller, subscriptions: new Map(), alive: true };
    add(this.bySession, caller.sessionId, client);
    socket.on('pong', () => (client.alive = true));
    socket.on('message', (data, isBinary) => void this.received(client, data, isBinary));
    socket.on('close', () => this.disconnected(client));
    socket.on('error', () => socket.terminate());
  }

  private disconnected(client: Client): void {
    remove(this.bySession, client.caller.sessionId, client);
    for (const conversationId of client.subscriptions.keys()) remove(this.byConversation, conversationId, client);
    client.subscriptions.clear();
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

  private async received(client: Client, data: WebSocket.RawData, isBinary: boolean): Promise<void> {
    let frame: z.infer<typeof ClientFrame>;
    try {
      if (isBinary) throw new Error('binary');
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      frame = ClientFrame.parse(JSON.parse(bytes.toString('utf8')));
    } catch {
      return this.send(client, {
        type: 'error',
        code: 'PUSH.INVALID_FRAME',
        message: 'Send JSON: {"type":"sync",...} or {"type":"typing",...}',
      });
    }
    switch (frame.type) {
      case 'sync': {
        const entries = Object.entries(frame.conversations);
        if (entries.length > MAX_SYNC_CONVERSATIONS) {
          return this.send(client, {
            type: 'error',
            code: 'PUSH.TOO_MANY',
            message: `At most ${MAX_SYNC_CONVERSATIONS} conversations per sync`,
          });
        }
        for (const [conversationId, lastSeq] of entries) await this.subscribe(client, conversationId, lastSeq);
        return;
      }
      case 'typing': {
        if (!client.subscriptions.has(frame.conversationId)) return this.notFound(client, frame.conversationId);
        for (const other of this.byConversation.get(frame.conversationId) ?? []) {
          if (other !== client)
            this.send(other, { type: 'typing', conversationId: frame.conversationId, userId: client.caller.userId });
        }
        return;
      }
      default: {
        const unhandled: never = frame;
        return unhandled;
      }
    }
  }

  private async subscribe(client: Client, conversationId: string, lastSeq: number): Promise<void> {
    const state = await this.conversations.state(conversationId);
    if (!state.members.has(client.caller.userId)) return this.notFound(client, conversationId);
    if (client.subscriptions.has(conversationId)) client.subscriptions.delete(conversationId);
    // Subscribe first (queueing live events), then read what was missed: nothing falls between.
    const subscription: Subscription = { lastSeq, queued: [] };
    client.subscriptions.set(conversationId, subscription);
    add(this.byConversation, conversationId, client);
    const missed = state.seq - lastSeq;
    if (missed > MAX_CATCH_UP) {
      subscription.lastSeq = state.seq;
      this.send(client, {
        type: 'resync',
        conversationId,
        seq: state.seq,
        reason: `more than ${MAX_CATCH_UP} events missed`,
      });
    } else if (missed > 0) {
      const events = await this.store.readStream(`conversation-${conversationId}`, {
        from: lastSeq + 1,
        limit: MAX_CATCH_UP,
      });
      for (const event of events) this.deliver(client, conversationId, subscription, event);
    }
    const queued = subscription.queued ?? [];
    subscription.queued = undefined;
    for (const event of queued) this.deliver(client, conversationId, subscription, event);
    if (client.subscriptions.get(conversationId) === subscription) {
      this.send(client, { type: 'synced', conversationId, seq: subscription.lastSeq });
    }
  }

  private notFound(client: Client, conversationId: string): void {
    this.send(client, {
      type: 'error',
      code: 'CONVERSATION.NOT_FOUND',
      conversationId,
      message: 'No such conversation, or you are not a member',
    });
  }

  // ---------------------------------------------------------------- live events

  private async follow(from: Awaited<ReturnType<EventStore['headCheckpoint']>>): Promise<void> {
    const signal = this.following.signal;
    while (!signal.aborted) {
      try {
        for await (const page of this.store.subscribeToAll({
          from,
          limit: 1000,
          signal,
          filter: { streamPrefixes: ['conversation-', 'session-'] },
        })) {
          for (const event of page.events) this.live(event);
          from = page.checkpoint;
        }
      } catch (error) {
        if (signal.aborted) return;
        this.logger.emit(
          'warn',
          `push follower: ${error instanceof Error ? error.message : String(error)}; retrying`,
          'Push',
        );
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private live(event: RecordedEvent): void {
    if (event.type === 'SessionRevoked') {
      const sessionId = event.streamId.slice('session-'.length);
      for (const client of [...(this.bySession.get(sessionId) ?? [])])
        client.socket.close(CLOSE.sessionRevoked, 'session revoked');
      return;
    }
    const conversationId = event.streamId.slice('conversation-'.length);
    const clients = this.byConversation.get(conversationId);
    if (!clients) return;
    for (const client of [...clients]) {
      const subscription = client.subscriptions.get(conversationId);
      if (!subscription) continue;
      if (subscription.queued) subscription.queued.push(event);
      else this.deliver(client, conversationId, subscription, event);
    }
  }

  /** Sends one event if it is the next in seq; the seam drops what was sent and refetches a gap. */
  private deliver(client: Client, conversationId: string, subscription: Subscription, event: RecordedEvent): void {
    if (event.streamRevision <= subscription.lastSeq) return;
    if (event.streamRevision > subscription.lastSeq + 1) {
      // Cannot happen while this node follows the log in order; say so rather than skip.
      subscription.lastSeq = event.streamRevision;
      this.send(client, { type: 'resync', conversationId, seq: event.streamRevision, reason: 'gap' });
      return;
    }
    const { data } = readEvent(event);
    subscription.lastSeq = event.streamRevision;
    this.send(client, {
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
    });
    // Whoever left or was kicked gets the event that says so, and nothing after it.
    if (
      (event.type === 'MemberLeft' || event.type === 'MemberKicked') &&
      (data as { userId: string }).userId === client.caller.userId
    ) {
      client.subscriptions.delete(conversationId);
      remove(this.byConversation, conversationId, client);
    }
  }

  private send(client: Client, frame: object): void {
    const socket = client.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED) {
      socket.close(CLOSE.slowConsumer, 'too slow: reconnect and sync');
      // A peer that does not read will not read the close frame either.
      setTimeout(() => socket.terminate(), 1_000).unref();
      return;
    }
    socket.send(JSON.stringify(frame));
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
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
