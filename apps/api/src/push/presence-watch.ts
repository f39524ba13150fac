/**
 * A client's `presence` frame: the users it shows, at most MAX_PRESENCE_USERS at a time and
 * PRESENCE_FRAMES_PER_SECOND frames a second per socket, answered with their state now and
 * then each change (presence.ts keeps the state and delivers the changes). Who may be seen
 * is decided from the membership and directory read models, and never from stale ones
 * (ADR 009: fail closed). Watching only the users a client shows is what lets presence
 * scale to groups of 100k: nobody is told about users they are not looking at.
 */
import { DIRECTORY, MEMBERSHIP } from '@herald/projections';
import { ProjectionsUnavailable, type ProjectionsService } from '../projections.service.js';
import { PRESENCE_FRAMES_BURST, PRESENCE_FRAMES_PER_SECOND } from './limits.js';
import { unknownPresence, visibleUsers, type MayWatch, type Presence, type PresenceView } from './presence.js';
import type { PushClient } from './push-client.js';

/** The read models presence visibility is decided from: membership (shared conversations), directory (contacts, blocks). */
const PRESENCE_READ_MODELS = [MEMBERSHIP, DIRECTORY] as const;

export interface PresenceWatchOptions {
  readonly presence: Presence<PushClient>;
  readonly mayWatch: MayWatch;
  readonly projections: Pick<ProjectionsService, 'requireCurrent'>;
}

export class PresenceWatch {
  constructor(private readonly options: PresenceWatchOptions) {}

  /** A presence frame naming `userIds` (distinct, counted and charged already). */
  async watch(client: PushClient, userIds: readonly string[]): Promise<void> {
    const { presence, mayWatch } = this.options;
    // Past the socket's own limit: answered once, and the socket is not read until a
    // frame would pass again (as past the user's), never an answer per frame.
    const wait = client.takePresenceToken(PRESENCE_FRAMES_PER_SECOND, PRESENCE_FRAMES_BURST);
    if (wait > 0) {
      return client.rateLimited(
        Math.max(1, Math.ceil(wait / 1000)),
        `At most ${PRESENCE_FRAMES_PER_SECOND} presence frames per second: this socket is read again after retryAfterSeconds`,
      );
    }
    // The last watch ends now: no change of it arrives after this frame's answer.
    presence.unwatch(client);
    // Fail closed: who may be seen is decided from the read models, never stale ones.
    if (!(await this.readModelsCurrent())) {
      return client.send({
        type: 'error',
        code: 'PUSH.UNAVAILABLE',
        message: 'Presence cannot be decided now; send the frame again shortly',
      });
    }
    const visible = await visibleUsers(mayWatch, client.caller.userId, userIds);
    if (!client.open) return;
    const views = await presence.watch(client, client.caller.userId, visible);
    if (!views) return;
    const byId = new Map<string, PresenceView>(views.map((view) => [view.userId, view]));
    client.send({ type: 'presence', users: userIds.map((id) => byId.get(id) ?? unknownPresence(id)) });
  }

  /**
   * Whether the read models presence visibility is read from can be trusted now (ADR 009:
   * fail closed). False when either is stopped or too far behind.
   */
  async readModelsCurrent(): Promise<boolean> {
    try {
      for (const name of PRESENCE_READ_MODELS) await this.options.projections.requireCurrent(name);
      return true;
    } catch (error) {
      // Not logged here: the projection's stop or lag is logged where it happens, once.
      if (!(error instanceof ProjectionsUnavailable)) throw error;
      return false;
    }
  }
}
