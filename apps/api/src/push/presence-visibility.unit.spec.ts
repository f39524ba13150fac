import type { DataSource } from 'typeorm';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { MayWatchPresence, MayWatchPresenceHandler } from './presence-visibility.js';

/**
 * The read models as the directory's and membership's own queries answer them (their SQL is
 * tested against PostgreSQL in their folders): contacts (`user contact`, as the user's
 * contact list has them), blocks (`blocker blocked`) and conversations (their members).
 */
const world = vi.hoisted(() => ({
  contacts: new Set<string>(),
  blocks: new Set<string>(),
  conversations: [] as string[][],
  fail: undefined as 'relations' | 'shareAConversation' | undefined,
  asked: [] as (readonly (readonly [string, string])[])[],
}));

vi.mock('@herald/projections', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@herald/projections')>()),
  relations: (_db: unknown, pairs: readonly (readonly [string, string])[]) => {
    world.asked.push(pairs);
    if (world.fail === 'relations') return Promise.reject(new Error('directory unreachable'));
    return Promise.resolve(
      pairs.map(([userId, otherId]) => ({
        userId,
        otherId,
        contacts: world.contacts.has(`${userId} ${otherId}`),
        blocked: world.blocks.has(`${userId} ${otherId}`) || world.blocks.has(`${otherId} ${userId}`),
      })),
    );
  },
  shareAConversation: (_db: unknown, pairs: readonly (readonly [string, string])[]) => {
    if (world.fail === 'shareAConversation') return Promise.reject(new Error('membership unreachable'));
    return Promise.resolve(
      pairs
        .filter(([a, b]) => world.conversations.some((members) => members.includes(a) && members.includes(b)))
        .map(([userId, otherId]) => ({ userId, otherId })),
    );
  },
}));

const handler = new MayWatchPresenceHandler({} as DataSource);

/** Whether `watcher` may see `user`'s presence. */
const mayWatch = async (watcher: string, user: string) =>
  (await handler.execute(new MayWatchPresence([[user, watcher]]))).has(`${watcher} ${user}`);

beforeEach(() => {
  world.contacts.clear();
  world.blocks.clear();
  world.conversations = [];
  world.fail = undefined;
  world.asked = [];
});

describe('who may see whose presence', () => {
  it('a user may see their own', async () => {
    expect(await mayWatch('ann', 'ann')).toBe(true);
  });

  it('a stranger (no contact, no conversation shared) may not', async () => {
    world.conversations = [['ann', 'cat']];
    expect(await mayWatch('bob', 'ann')).toBe(false);
  });

  it("a user may see their contacts', as their own contact list has them", async () => {
    world.contacts.add('bob ann');
    expect(await mayWatch('bob', 'ann')).toBe(true);
    expect(world.asked).toEqual([[['bob', 'ann']]]);
  });

  it('a user may see the members of a conversation they are in', async () => {
    world.conversations = [['ann', 'bob', 'cat']];
    expect(await mayWatch('bob', 'ann')).toBe(true);
    expect(await mayWatch('cat', 'bob')).toBe(true);
  });

  it('a block either way hides a contact', async () => {
    world.contacts.add('bob ann');
    world.blocks.add('ann bob');
    expect(await mayWatch('bob', 'ann')).toBe(false);
    world.blocks.clear();
    world.blocks.add('bob ann');
    expect(await mayWatch('bob', 'ann')).toBe(false);
  });

  it('a block either way hides a fellow member', async () => {
    world.conversations = [['ann', 'bob']];
    world.blocks.add('ann bob');
    expect(await mayWatch('bob', 'ann')).toBe(false);
    expect(await mayWatch('ann', 'bob')).toBe(false);
  });

  it('answers many pairs at once, keyed `watcher user`, only those allowed', async () => {
    world.contacts.add('bob ann');
    world.conversations = [['cat', 'dan']];
    world.blocks.add('dan cat');
    const allowed = await handler.execute(
      new MayWatchPresence([
        ['ann', 'bob'],
        ['ann', 'cat'],
        ['dan', 'cat'],
        ['eve', 'eve'],
      ]),
    );
    expect([...allowed].sort()).toEqual(['bob ann', 'eve eve']);
  });

  it('a read model that cannot be read fails the whole check: no partial answer', async () => {
    world.contacts.add('bob ann');
    world.fail = 'shareAConversation';
    await expect(handler.execute(new MayWatchPresence([['ann', 'bob']]))).rejects.toThrow('membership unreachable');
    world.fail = 'relations';
    await expect(handler.execute(new MayWatchPresence([['ann', 'bob']]))).rejects.toThrow('directory unreachable');
  });
});
