/**
 * WebSocket push (`/ws`, the `ws` library): the NestJS gateway that wires the parts of the
 * push channel to the HTTP server, the event log and the signal bus. A client authenticates
 * in the handshake (handshake.ts), then sends frames (frames.ts: the protocol; frame-queue.ts:
 * one at a time, bounded; frame-router.ts: charged and dispatched). `sync` subscribes it to
 * the conversations it may read (subscriptions.ts), each caught up from the seq the client
 * has and then live, with no gap and no duplicate at the seam (conversation-feed.ts: where
 * the catch-up happens). Typing (typing.ts) and presence (presence-watch.ts, presence.ts)
 * are ephemeral signals that cross nodes over the signal bus (signals.ts). Limits are in
 * limits.ts, catch-up budgets in budgets.ts, the heartbeat in heartbeat.ts.
 *
 * Each node follows the event log (live-events.ts) and pushes to its own sockets only. A
 * revoked session closes its sockets (4001); a socket lives as long as its access token
 * unless the client sends a fresh one (`auth`).
 */
import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { QueryBus } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HeraldConfig } from '@herald/config';
import type { EventStore, RecordedEvent } from '@herald/event-store';
import { idOfStream } from '@herald/events';
import { IdentityService } from '@herald/identity';
import { JsonLogger, proxyTrust } from '@herald/nest';
import { onlineOnAnyNode } from '@herald/notifications';
import { HeraldMetrics } from '@herald/observability';
import { DataSource } from 'typeorm';
import { WebSocketServer, type WebSocket } from 'ws';
import { RateLimits } from '../auth/rate-limits.js';
import { LiveEvents } from '../live-events.js';
import { HasBlocked } from '../auth/identity.queries.js';
import { GetStreamMembership, type StreamMembership } from '../conversations/conversation.queries.js';
import { ProjectionsService } from '../projections.service.js';
import { CONFIG, DATABASE_URL, EVENT_STORE } from '../tokens.js';
import { FairGate } from './budgets.js';
import { Activity } from './fanout.js';
import { FrameRouter } from './frame-router.js';
import { CLOSE } from './frames.js';
import { Handshake, type Admitted } from './handshake.js';
import { Heartbeat } from './heartbeat.js';
import { MAX_CONCURRENT_CATCH_UPS, MAX_PAYLOAD } from './limits.js';
import { Presence, type MayWatch } from './presence.js';
import { MayWatchPresence } from './presence-visibility.js';
import { PresenceWatch } from './presence-watch.js';
import { clientOf, PushClient, PushClients, type PushMeter } from './push-client.js';
import { SignalBus, type Signal } from './signals.js';
import { Subscriptions } from './subscriptions.js';
import { Typing } from './typing.js';
import { UserChannel } from './user-channel.js';

/** Every socket's frames, to its client's queue. */
function received(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  clientOf(this)?.frames.push({ data, isBinary });
}

/** Every socket's error listener: a socket that failed is let go. */
function failed(this: WebSocket): void {
  this.terminate();
}

@Injectable()
export class PushGateway implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD });
  private readonly clients = new PushClients();
  /** This process among the API nodes, for the signal bus and presence. */
  private readonly nodeId = randomUUID();
  private readonly signals: SignalBus;
  private readonly presence: Presence<PushClient>;
  private readonly handshake: Handshake;
  private readonly subscriptions: Subscriptions;
  private readonly typing: Typing;
  private readonly userChannel: UserChannel;
  private readonly router: FrameRouter;
  private readonly heartbeat: Heartbeat;
  private readonly heartbeatMs: number;
  private readonly meter: PushMeter;
  /** Who acted lately, among the users with a socket here: their sockets come first in a large fan-out. */
  private readonly activity = new Activity();

  constructor(
    private readonly adapter: HttpAdapterHost,
    identity: IdentityService,
    @Inject(EVENT_STORE) store: EventStore,
    live: LiveEvents,
    @Inject(CONFIG) config: HeraldConfig,
    logger: JsonLogger,
    private readonly db: DataSource,
    @Inject(DATABASE_URL) databaseUrl: string,
    limits: RateLimits,
    projections: ProjectionsService,
    queryBus: QueryBus,
    metrics: HeraldMetrics,
  ) {
    this.heartbeatMs = config.presenceHeartbeatMs;
    this.meter = { frames: metrics.pushFrames, slowConsumers: metrics.slowConsumersDropped };
    metrics.countConnectionsWith(() => this.clients.connections);
    const mayWatch: MayWatch = (pairs) => queryBus.execute(new MayWatchPresence(pairs));
    const query = (sql: string, params: unknown[]): Promise<unknown> => db.query(sql, params);
    const log = (level: 'warn' | 'error', message: string): void => logger.emit(level, message, 'Push');
    const clients = this.clients;
    this.signals = new SignalBus({
      connectionString: databaseUrl,
      nodeId: this.nodeId,
      query,
      onSignals: (signals) => this.signalled(signals),
      onResume: () => this.presence.resumed(),
      log,
    });
    this.presence = new Presence<PushClient>({
      query,
      mayWatch,
      nodeId: this.nodeId,
      heartbeatMs: config.presenceHeartbeatMs,
      publish: (signal) => this.signals.publish(signal),
      deliver: (client, users) => client.send({ type: 'presence', users: [...users] }),
      visibilityCurrent: () => presenceWatch.readModelsCurrent(),
      log,
    });
    const presenceWatch = new PresenceWatch({ presence: this.presence, mayWatch, projections });
    this.handshake = new Handshake({
      identity,
      limits,
      allowedOrigins: config.wsAllowedOrigins,
      logger,
      clients,
      trust: proxyTrust(config.trustedProxies),
    });
    const membership = (conversationId: string, userId: string): Promise<StreamMembership | undefined> =>
      queryBus.execute(new GetStreamMembership(conversationId, userId));
    const gate = new FairGate(MAX_CONCURRENT_CATCH_UPS);
    const activity = this.activity;
    // A sync's membership read starts after the call (a fresh head: no catch-up read for a current client).
    const freshMembership = (conversationId: string, userId: string): Promise<StreamMembership | undefined> =>
      queryBus.execute(new GetStreamMembership(conversationId, userId, true));
    this.subscriptions = new Subscriptions({
      membership: freshMembership,
      store,
      clients,
      gate,
      logger,
      active: (userId, now) => activity.active(userId, now),
    });
    this.userChannel = new UserChannel({ store, clients, gate });
    this.typing = new Typing({
      clients,
      maySend: async (conversationId, userId) => (await membership(conversationId, userId))?.maySend === true,
      hasBlocked: (blockerId, blockedId) => queryBus.execute(new HasBlocked(blockerId, blockedId)),
      notFound: (client, conversationId) => this.subscriptions.notFound(client, conversationId),
      publish: (signal) => this.signals.publish(signal),
    });
    this.router = new FrameRouter({
      limits,
      logger,
      handshake: this.handshake,
      subscriptions: this.subscriptions,
      typing: this.typing,
      presence: presenceWatch,
      userChannel: this.userChannel,
      acted: (userId) => activity.acted(userId, Date.now()),
    });
    this.heartbeat = new Heartbeat(() => clients.all(), config.wsHeartbeatMs);
    live.on((event) => this.live(event));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.signals.start();
    await this.presence.start();
    const server = this.adapter.httpAdapter.getHttpServer() as Server;
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.upgrade(request, socket, head);
    });
    this.heartbeat.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.heartbeat.stop();
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await this.presence.stop();
    await this.signals.close();
  }

  /**
   * Of these users, those with a socket open: on this node (exact, at once), or on another
   * API node sharing the database (its presence rows, written shortly after it opened).
   * The notifier asks, to notify only users with no open socket.
   */
  async online(userIds: readonly string[]): Promise<Set<string>> {
    const elsewhere = userIds.filter((userId) => !this.presence.hasSocket(userId));
    const online = await onlineOnAnyNode(this.db, elsewhere, this.heartbeatMs);
    for (const userId of userIds) if (this.presence.hasSocket(userId)) online.add(userId);
    return online;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const admitted = await this.handshake.admit(request, socket);
    if (admitted) this.wss.handleUpgrade(request, socket, head, (ws) => this.connected(ws, admitted));
  }

  private connected(socket: WebSocket, { caller, token, peer }: Admitted): void {
    const client = new PushClient(socket, peer, caller, this.router, Date.now(), this.meter);
    this.clients.opened(client);
    this.handshake.expireWith(client, token);
    this.presence.opened(caller.userId);
    this.heartbeat.watch(client);
    // The same three listeners for every socket (no closures per socket: ADR 037).
    socket.on('message', received);
    socket.on('close', this.closed);
    socket.on('error', failed);
  }

  /** Every socket's close listener. */
  private readonly closed = ((gateway: PushGateway) =>
    function closed(this: WebSocket): void {
      const client = clientOf(this);
      if (client) gateway.disconnected(client);
    })(this);

  private disconnected(client: PushClient): void {
    this.handshake.forget(client);
    this.clients.closed(client);
    if (this.clients.socketsOf(client.caller.userId) === 0) this.activity.forget(client.caller.userId);
    this.presence.unwatch(client);
    this.presence.closed(client.caller.userId);
  }

  private signalled(signals: readonly Signal[]): void {
    for (const signal of signals) {
      switch (signal.kind) {
        case 'typing':
          this.typing.relay(signal.conversationId, signal.userId);
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

  private live(event: RecordedEvent): void {
    // Whoever wrote the event (a message, a read marker, a join...) is active, if connected here.
    const actor = event.metadata.actorId;
    if (this.clients.socketsOf(actor) > 0) this.activity.acted(actor, Date.now());
    const sessionId = event.type === 'SessionRevoked' ? idOfStream('session', event.streamId) : undefined;
    if (sessionId !== undefined) {
      for (const client of this.clients.ofSession(sessionId))
        client.socket.close(CLOSE.sessionRevoked, 'session revoked');
      return;
    }
    const conversationId = idOfStream('conversation', event.streamId);
    if (conversationId !== undefined) this.subscriptions.live(conversationId, event);
    this.userChannel.live(event);
  }
}
