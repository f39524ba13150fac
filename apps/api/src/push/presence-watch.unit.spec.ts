import { MEMBERSHIP } from '@herald/projections';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ProjectionsUnavailable } from '../projections.service.js';
import { PRESENCE_FRAMES_BURST, PRESENCE_FRAMES_PER_SECOND } from './limits.js';
import { Presence, unknownPresence, type PresenceView } from './presence.js';
import { PresenceWatch } from './presence-watch.js';
import type { PushClient } from './push-client.js';
import { fakeClient } from './push.testing.js';

const DIRECTORY = 'directory.v1';
/** How long presence waits before reading again what it could not read or deliver. */
const RETRY_MS = 1_000;
const LAST_WEEK = new Date('2026-01-01T10:00:00.000Z');

/**
 * A node's presence over scripted state: who is online and when the others were last seen
 * (what the presence tables answer), who may see whom (`watcher user` pairs; everyone sees
 * themselves), which read models are behind. Changes reach sockets as the gateway wires
 * them (`deliver` sends a presence frame).
 */
function node() {
  const online = new Set<string>();
  const lastSeen = new Map<string, Date>();
  const sees = new Set<string>();
  const behind = new Set<string>();
  /** The users each presence read asked for; the pairs each visibility check was asked. */
  const reads: string[][] = [];
  const checks: (readonly (readonly [string, string])[])[] = [];
  const asked: string[] = [];
  const state = {
    /** Makes the visibility check fail. */
    visibilityFails: false,
    /** Makes the staleness check fail otherwise than by a read model behind. */
    stalenessFails: false,
    /** Runs during the next visibility check, before it answers. */
    duringCheck: undefined as (() => void) | undefined,
    /** While set, presence reads wait for it. */
    readGate: undefined as Promise<void> | undefined,
  };
  const mayWatch = (pairs: readonly (readonly [string, string])[]): Promise<Set<string>> => {
    checks.push(pairs);
    state.duringCheck?.();
    state.duringCheck = undefined;
    if (state.visibilityFails) return Promise.reject(new Error('read model unreachable'));
    return Promise.resolve(
      new Set(
        pairs
          .filter(([user, watcher]) => user === watcher || sees.has(`${watcher} ${user}`))
          .map(([user, watcher]) => `${watcher} ${user}`),
      ),
    );
  };
  const projections = {
    requireCurrent: (name: string): Promise<void> => {
      asked.push(name);
      if (state.stalenessFails) return Promise.reject(new Error('event log unreachable'));
      return behind.has(name) ? Promise.reject(new ProjectionsUnavailable(name)) : Promise.resolve();
    },
  };
  const presence: Presence<PushClient> = new Presence<PushClient>({
    query: async (_sql, [userIds]) => {
      const ids = userIds as string[];
      reads.push(ids);
      await state.readGate;
      return ids.map((userId) => ({ userId, online: online.has(userId), lastSeenAt: lastSeen.get(userId) ?? null }));
    },
    mayWatch,
    nodeId: 'node',
    heartbeatMs: 10_000,
    publish: () => undefined,
    deliver: (client, users) => client.send({ type: 'presence', users: [...users] }),
    visibilityCurrent: () => watching.readModelsCurrent(),
    log: () => undefined,
  });
  const watching = new PresenceWatch({ presence, mayWatch, projections });

  /** A socket of `userId`; `received` is what it was sent, in order. */
  const socket = (userId: string) => {
    const { client, ws, received } = fakeClient(userId);
    return { client, received, close: () => (ws.readyState = WebSocket.CLOSED) };
  };

  /** `userId` comes online or goes offline (last seen now), and the node is told. */
  const change = async (userId: string, isOnline: boolean) => {
    if (isOnline) online.add(userId);
    else {
      online.delete(userId);
      lastSeen.set(userId, new Date('2026-02-01T12:00:00.000Z'));
    }
    presence.hinted([userId]);
    await settled();
  };
  return { watching, presence, socket, change, online, lastSeen, sees, behind, reads, checks, asked, state };
}

/** Lets every promise started so far settle. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

const frameOf = (...users: PresenceView[]) => ({ type: 'presence', users });
const onlineNow = (userId: string): PresenceView => ({ userId, online: true, lastSeenAt: null });
const offlineSince = (userId: string, at: string): PresenceView => ({ userId, online: false, lastSeenAt: at });
const unavailable = {
  type: 'error',
  code: 'PUSH.UNAVAILABLE',
  message: 'Presence cannot be decided now; send the frame again shortly',
};

afterEach(() => vi.useRealTimers());

describe('a presence frame', () => {
  it('is answered with the state of each user named, in the order named', async () => {
    const { watching, socket, online, lastSeen, sees } = node();
    online.add('ann');
    lastSeen.set('bob', LAST_WEEK);
    for (const user of ['ann', 'bob', 'cat']) sees.add(`dan ${user}`);
    const dan = socket('dan');
    await watching.watch(dan.client, ['bob', 'ann', 'cat']);
    expect(dan.received).toEqual([
      frameOf(offlineSince('bob', LAST_WEEK.toISOString()), onlineNow('ann'), unknownPresence('cat')),
    ]);
  });

  it('a user the watcher may not see is answered exactly as one who does not exist, and their presence is not read', async () => {
    const { watching, socket, online, lastSeen, sees, reads } = node();
    online.add('eve');
    lastSeen.set('ann', LAST_WEEK);
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['eve', 'ann', 'nobody']);
    expect(dan.received).toEqual([
      frameOf(unknownPresence('eve'), offlineSince('ann', LAST_WEEK.toISOString()), unknownPresence('nobody')),
    ]);
    expect(reads.flat()).toEqual(['ann']);
  });

  it('the watcher is then sent each change of the users it watches, and of no others', async () => {
    const { watching, socket, change, sees } = node();
    sees.add('dan ann');
    sees.add('dan bob');
    sees.add('eve bob');
    const dan = socket('dan');
    const eve = socket('eve');
    await watching.watch(dan.client, ['ann']);
    await watching.watch(eve.client, ['bob']);
    await change('ann', true);
    await change('bob', true);
    expect(dan.received.slice(1)).toEqual([frameOf(onlineNow('ann'))]);
    expect(eve.received.slice(1)).toEqual([frameOf(onlineNow('bob'))]);
  });

  it('a user the watcher may not see is not watched: their changes are never sent to it', async () => {
    const { watching, socket, change } = node();
    const dan = socket('dan');
    await watching.watch(dan.client, ['eve']);
    await change('eve', true);
    await change('eve', false);
    expect(dan.received).toEqual([frameOf(unknownPresence('eve'))]);
  });

  it('a new frame replaces the last: changes of the users it no longer names are not sent', async () => {
    const { watching, socket, change, sees } = node();
    sees.add('dan ann');
    sees.add('dan bob');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    await watching.watch(dan.client, ['bob']);
    await change('ann', true);
    await watching.watch(dan.client, []);
    await change('bob', true);
    expect(dan.received).toEqual([frameOf(unknownPresence('ann')), frameOf(unknownPresence('bob')), frameOf()]);
  });

  it('a user who blocks the watcher after it started watching is shown to it as unknown at their next change, and never again', async () => {
    const { watching, socket, change, sees } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    sees.delete('dan ann');
    await change('ann', true);
    await change('ann', false);
    await change('ann', true);
    expect(dan.received).toEqual([frameOf(unknownPresence('ann')), frameOf(unknownPresence('ann'))]);
  });

  it(`past a burst of ${PRESENCE_FRAMES_BURST} frames, the socket is told once when to come back; its watch is kept and nothing is read`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { watching, socket, change, sees, checks } = node();
    sees.add('dan ann');
    sees.add('dan bob');
    const dan = socket('dan');
    for (let i = 0; i < PRESENCE_FRAMES_BURST; i++) await watching.watch(dan.client, ['ann']);
    const checked = checks.length;
    await watching.watch(dan.client, ['bob']);
    await watching.watch(dan.client, ['bob']);
    expect(checks).toHaveLength(checked);
    expect(dan.received.slice(PRESENCE_FRAMES_BURST)).toEqual([
      {
        type: 'error',
        code: 'PUSH.RATE_LIMITED',
        message: `At most ${PRESENCE_FRAMES_PER_SECOND} presence frames per second: this socket is read again after retryAfterSeconds`,
        retryAfterSeconds: 1,
      },
    ]);
    await change('ann', true);
    expect(dan.received.at(-1)).toEqual(frameOf(onlineNow('ann')));
  });

  it.each([MEMBERSHIP, DIRECTORY])(
    'while the %s read model is behind, the frame is answered PUSH.UNAVAILABLE, no visibility is read, and the last watch has ended',
    async (name) => {
      const { watching, socket, change, sees, behind, checks } = node();
      sees.add('dan ann');
      const dan = socket('dan');
      await watching.watch(dan.client, ['ann']);
      const checked = checks.length;
      behind.add(name);
      await watching.watch(dan.client, ['ann']);
      expect(checks).toHaveLength(checked);
      behind.delete(name);
      await change('ann', true);
      expect(dan.received).toEqual([frameOf(unknownPresence('ann')), unavailable]);
    },
  );

  it('a visibility check that fails rejects the frame (the router answers PUSH.UNAVAILABLE): nothing is sent, and the last watch has ended', async () => {
    const { watching, socket, change, sees, state } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    state.visibilityFails = true;
    await expect(watching.watch(dan.client, ['ann'])).rejects.toThrow('read model unreachable');
    state.visibilityFails = false;
    await change('ann', true);
    expect(dan.received).toEqual([frameOf(unknownPresence('ann'))]);
  });

  it('a staleness check that fails otherwise than by a read model behind is not taken for current: the frame is rejected before any visibility is read', async () => {
    const { watching, socket, sees, state, checks } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    state.stalenessFails = true;
    await expect(watching.watch(dan.client, ['ann'])).rejects.toThrow('event log unreachable');
    expect(checks).toEqual([]);
    expect(dan.received).toEqual([]);
  });

  it('a socket closed while visibility was being decided is not watched, read for, nor answered', async () => {
    const { watching, socket, sees, state, reads } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    state.duringCheck = dan.close;
    await watching.watch(dan.client, ['ann']);
    expect(reads).toEqual([]);
    expect(dan.received).toEqual([]);
  });

  it('the read models checked are the membership and the directory ones, both current for a yes', async () => {
    const { watching, behind, asked } = node();
    expect(await watching.readModelsCurrent()).toBe(true);
    expect(asked).toEqual([MEMBERSHIP, DIRECTORY]);
    behind.add(DIRECTORY);
    expect(await watching.readModelsCurrent()).toBe(false);
  });
});

describe('changes to watched users', () => {
  it('a change read while a read model is behind is withheld, and sent once they are current, visibility checked again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { watching, socket, change, sees, behind, checks } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    behind.add(MEMBERSHIP);
    await change('ann', true);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(dan.received).toHaveLength(1);
    const checked = checks.length;
    behind.delete(MEMBERSHIP);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(checks.length).toBeGreaterThan(checked);
    expect(dan.received.slice(1)).toEqual([frameOf(onlineNow('ann'))]);
  });

  it('a change withheld while a read model was behind goes as unknown to a watcher blocked meanwhile', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { watching, socket, change, sees, behind } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    behind.add(DIRECTORY);
    await change('ann', true);
    sees.delete('dan ann');
    behind.delete(DIRECTORY);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(dan.received.slice(1)).toEqual([frameOf(unknownPresence('ann'))]);
  });

  it('a watcher that starts watching while a change of the user is being read is sent that change, and the next ones', async () => {
    const { watching, presence, socket, change, online, sees, state } = node();
    sees.add('dan ann');
    sees.add('eve ann');
    const dan = socket('dan');
    const eve = socket('eve');
    await watching.watch(dan.client, ['ann']);
    let release = (): void => undefined;
    state.readGate = new Promise((resolve) => (release = resolve));
    online.add('ann');
    presence.hinted(['ann']);
    await watching.watch(eve.client, ['ann']);
    release();
    await settled();
    await change('ann', false);
    expect(eve.received).toEqual([
      frameOf(unknownPresence('ann')),
      frameOf(onlineNow('ann')),
      frameOf(offlineSince('ann', '2026-02-01T12:00:00.000Z')),
    ]);
  });

  it('a change whose visibility check fails is sent to nobody until the check succeeds', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { watching, socket, change, sees, state } = node();
    sees.add('dan ann');
    const dan = socket('dan');
    await watching.watch(dan.client, ['ann']);
    state.visibilityFails = true;
    await change('ann', true);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(dan.received).toHaveLength(1);
    state.visibilityFails = false;
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(dan.received.slice(1)).toEqual([frameOf(onlineNow('ann'))]);
  });
});
