/**
 * A client frame, from the socket to what handles it: charged to the user's rate limit
 * (shared with REST) before it is parsed, parsed against the protocol (frames.ts), counted
 * (a sync by the ids it names and those refused, a presence frame by its users), and handed
 * to the sync, auth, typing, presence or user channel handling. A failure of the database or the event
 * store is answered PUSH.UNAVAILABLE: the client may try again, the node stays up.
 */
import { RateLimited, type JsonLogger, type RateLimiter } from '@herald/nest';
import { INVALID_FRAME_MESSAGE, parseClientFrame, type ClientFrame } from './frames.js';
import type { Handshake } from './handshake.js';
import {
  frameCost,
  MAX_PRESENCE_USERS,
  MAX_SYNC_CONVERSATIONS,
  presenceCost,
  syncCost,
  SYNC_REFUSALS_PER_TOKEN,
} from './limits.js';
import type { PresenceWatch } from './presence-watch.js';
import type { FrameHandling, PushClient, RawFrame } from './push-client.js';
import type { Subscriptions } from './subscriptions.js';
import type { Typing } from './typing.js';
import type { UserChannel } from './user-channel.js';

export interface FrameRouterOptions {
  /** The user rate limit shared with REST. */
  readonly limits: { readonly perUser: Pick<RateLimiter, 'take'> };
  readonly logger: Pick<JsonLogger, 'emit'>;
  readonly handshake: Pick<Handshake, 'reauthenticate'>;
  readonly subscriptions: Pick<Subscriptions, 'subscribe'>;
  readonly typing: Pick<Typing, 'typed'>;
  readonly presence: Pick<PresenceWatch, 'watch'>;
  readonly userChannel: Pick<UserChannel, 'follow'>;
  /** The user did something (typed, watched presence, followed their channel): active for fan-outs (fanout.ts). */
  readonly acted?: (userId: string) => void;
}

export class FrameRouter implements FrameHandling {
  constructor(private readonly options: FrameRouterOptions) {}

  async handle(client: PushClient, { data, isBinary }: RawFrame): Promise<void> {
    // Frames that waited for a socket closed since are moot.
    if (!client.open) return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    // Every frame is a request of the user's, charged before it is parsed, whatever it turns
    // out to be (junk, a refusal, a typing dropped): a flood is handled at the user's rate,
    // not the network's.
    const paid = frameCost(bytes.length);
    if (!this.take(client, paid)) return;
    const frame = parseClientFrame(bytes, isBinary);
    if (!frame) return client.send({ type: 'error', code: 'PUSH.INVALID_FRAME', message: INVALID_FRAME_MESSAGE });
    try {
      await this.route(client, frame, paid);
    } catch (error) {
      this.options.logger.emit(
        'warn',
        `push: ${frame.type} failed: ${error instanceof Error ? error.message : String(error)}`,
        'Push',
        undefined,
        fieldsOf(client),
      );
      client.send({ type: 'error', code: 'PUSH.UNAVAILABLE', message: 'Could not be done now; try again' });
    }
  }

  failed(client: PushClient, error: unknown): void {
    this.options.logger.emit(
      'error',
      `push: ${error instanceof Error ? error.message : String(error)}`,
      'Push',
      undefined,
      fieldsOf(client),
    );
  }

  /** `paid`: the tokens the frame was charged already (frameCost). */
  private async route(client: PushClient, frame: ClientFrame, paid: number): Promise<void> {
    // A sync is what a client sends by itself at each reconnect: not a sign of the user.
    if (frame.type !== 'sync' && frame.type !== 'auth') this.options.acted?.(client.caller.userId);
    switch (frame.type) {
      case 'sync': {
        const entries = [...frame.conversations];
        // Counted as requests of the user's (shared with REST), before anything is read or
        // refused: one token per 100 conversations named, of which the frame paid some.
        const cost = syncCost(entries.length);
        if (cost > paid && !this.take(client, cost - paid)) return;
        if (entries.length > MAX_SYNC_CONVERSATIONS) {
          return client.send({
            type: 'error',
            code: 'PUSH.TOO_MANY',
            message: `At most ${MAX_SYNC_CONVERSATIONS} conversations per sync`,
          });
        }
        let refusals = 0;
        for (const [conversationId, lastSeq] of entries) {
          if (!client.open) return;
          if (await this.options.subscriptions.subscribe(client, conversationId, lastSeq)) continue;
          // Past the limit the rest of this sync is not done (the client was told when to come back).
          if (++refusals % SYNC_REFUSALS_PER_TOKEN === 0 && !this.take(client)) return;
        }
        return;
      }
      case 'auth':
        return this.options.handshake.reauthenticate(client, frame.accessToken);
      case 'typing':
        return this.options.typing.typed(client, frame.conversationId);
      case 'presence': {
        const userIds = [...new Set(frame.userIds)];
        // Requests of the user's too (each reads the read models), shared with REST and sync,
        // refused or not: one token per 100 users named, of which the frame paid some.
        const cost = presenceCost(userIds.length);
        if (cost > paid && !this.take(client, cost - paid)) return;
        if (userIds.length > MAX_PRESENCE_USERS) {
          return client.send({
            type: 'error',
            code: 'PUSH.TOO_MANY',
            message: `At most ${MAX_PRESENCE_USERS} users per presence frame`,
          });
        }
        return this.options.presence.watch(client, userIds);
      }
      case 'syncUser':
        // The caller's own channel: nothing of anyone else's can be named.
        return this.options.userChannel.follow(client, frame.seq);
      default: {
        const unhandled: never = frame;
        return unhandled;
      }
    }
  }

  /** Takes `cost` tokens of the user's rate limit; false (and the client told) when over it. */
  private take(client: PushClient, cost = 1): boolean {
    try {
      this.options.limits.perUser.take(client.caller.userId, Date.now(), cost);
      return true;
    } catch (error) {
      if (!(error instanceof RateLimited)) throw error;
      client.rateLimited(error.retryAfterSeconds);
      return false;
    }
  }
}

/** Who a log line about a socket is about, and the correlation id of its upgrade request. */
const fieldsOf = (client: PushClient) => ({ userId: client.caller.userId, correlationId: client.peer.correlationId });
