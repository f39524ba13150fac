/**
 * membership.v1 at the scale of issue 17 (ADR 036): the member counter (joins, leaves,
 * kicks, re-joins; a dissolution leaves it), a user's list merged from small conversations
 * (their rows carry the activity) and large groups (read from the conversation row) across
 * the LARGE_GROUP line either way, and the rows a join, leave, kick or send touches in a
 * group of 100,000 members.
 */
import { projectionSpec, type InStream } from '@herald/testing';
import { streamIdOf, type EventIn } from '@herald/events';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { membership, LARGE_GROUP } from './index.js';
import { conversationDetails, conversationsOf, notificationAudience } from './membership.queries.js';

const spec = projectionSpec([membership]);
const none = { userIds: [], all: false };

function conversation(ownerId: string, memberIds: readonly string[]) {
  const c = randomUUID();
  const inC = (event: EventIn<'conversation'>): InStream => ({ stream: streamIdOf('conversation', c), event });
  return {
    c,
    inC,
    created: inC({ type: 'GroupCreated', data: { conversationId: c, ownerId, name: 'g', memberIds: [...memberIds] } }),
    sent: (senderId: string) =>
      inC({
        type: 'MessageSent',
        data: { conversationId: c, messageId: randomUUID(), senderId, text: 'hi', mentions: none, attachments: [] },
      }),
    joined: (userId: string) => inC({ type: 'MemberJoined', data: { conversationId: c, userId, via: 'link' } }),
    left: (userId: string) => inC({ type: 'MemberLeft', data: { conversationId: c, userId } }),
    kicked: (userId: string, by: string) =>
      inC({ type: 'MemberKicked', data: { conversationId: c, userId, kickedBy: by } }),
  };
}

const users = (n: number): string[] => Array.from({ length: n }, () => randomUUID());

/** Every conversation of the user's list, paging `limit` at a time. */
async function wholeList(db: Parameters<typeof conversationsOf>[0], userId: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: Parameters<typeof conversationsOf>[2]['cursor'];
  for (;;) {
    const page = await conversationsOf(db, userId, { limit, ...(cursor ? { cursor } : {}) });
    ids.push(...page.conversations.map((c) => c.conversationId));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

describe('membership.v1: the member counter', () => {
  it('counts joins, leaves, kicks and re-joins, once each however often the events are delivered', async () => {
    const [owner, bob, cy, dan] = users(4);
    const g = conversation(owner!, [bob!, cy!]);
    await spec
      .given(g.created)
      .when(
        g.joined(dan!),
        g.left(cy!),
        g.kicked(bob!, owner!),
        g.joined(cy!),
        // Joined again while a member (a repeated delivery of the same fact): not counted twice.
        g.joined(cy!),
        g.inC({ type: 'GroupDissolved', data: { conversationId: g.c, dissolvedBy: owner! } }),
      )
      .then(async (db) => {
        // owner, dan, cy; the dissolution leaves the members as they were.
        expect((await conversationDetails(db, g.c))?.memberCount).toBe(3);
      });
  });

  it('a group created with more than LARGE_GROUP members is counted, and listed by its activity', async () => {
    const members = users(LARGE_GROUP + 1);
    const [me] = users(1);
    const big = conversation(me!, members);
    const small = conversation(me!, []);
    await spec
      .given(big.created, small.created)
      .when(small.sent(me!), big.sent(me!))
      .then(async (db) => {
        expect((await conversationDetails(db, big.c))?.memberCount).toBe(LARGE_GROUP + 2);
        expect(await wholeList(db, me!, 1)).toEqual([big.c, small.c]);
        expect(await wholeList(db, members[0]!, 1)).toEqual([big.c]);
      });
  });
});

describe('membership.v1: a user list across small conversations and large groups', () => {
  it('pages in activity order as groups cross LARGE_GROUP one way and the other', async () => {
    const [me, other] = users(2);
    const crowd = users(LARGE_GROUP - 1);
    // me + other + crowd + the owner: LARGE_GROUP + 1 members, large; one leaving makes it small again.
    const big = conversation(other!, [me!, ...crowd]);
    const smalls = [conversation(me!, []), conversation(me!, []), conversation(me!, [])];
    const [s0, s1, s2] = smalls as [
      ReturnType<typeof conversation>,
      ReturnType<typeof conversation>,
      ReturnType<typeof conversation>,
    ];
    await spec
      .given(big.created, ...smalls.map((s) => s.created))
      .when(
        s0.sent(me!),
        big.sent(other!),
        s1.sent(me!),
        // Joins while large: the newcomer's list reads the group's activity from its row.
        big.joined(randomUUID()),
        big.left(crowd[0]!),
        big.left(crowd[1]!),
        // Now LARGE_GROUP members: small again, every current member's row has its activity.
        s2.sent(me!),
        big.sent(other!),
      )
      .then(async (db) => {
        expect((await conversationDetails(db, big.c))?.memberCount).toBe(LARGE_GROUP);
        const order = [big.c, s2.c, s1.c, s0.c];
        for (const limit of [1, 2, 3, 10]) expect(await wholeList(db, me!, limit)).toEqual(order);
        expect(await wholeList(db, crowd[0]!, 10)).toEqual([]);
        expect(await wholeList(db, crowd[2]!, 10)).toEqual([big.c]);
      });
  });

  it('conversations as active as each other page by id, none twice and none missed, small and large mixed', async () => {
    const [me] = users(1);
    // Created in the same event batch: all share no activity, so ties break by id.
    const big = conversation(me!, users(LARGE_GROUP + 1));
    const smalls = Array.from({ length: 5 }, () => conversation(me!, []));
    await spec
      .given()
      .when(big.created, ...smalls.map((s) => s.created))
      .then(async (db) => {
        const all = await wholeList(db, me!, 100);
        for (const limit of [1, 2, 4]) expect(await wholeList(db, me!, limit)).toEqual(all);
        expect(new Set(all)).toEqual(new Set([big.c, ...smalls.map((s) => s.c)]));
      });
  });
});

describe('membership.v1: a group of 100,000 members', () => {
  const MEMBERS = 100_000;

  /** The rows of membership's tables a batch wrote and read, in its own transaction. */
  async function touched(events: readonly InStream[]): Promise<{ written: number; read: number }> {
    const db = await spec.database();
    const recorded = spec.record(events);
    const projection = membership.projection();
    // The backend's pending counts carry earlier transactions' until they are flushed: the
    // difference across the apply, in one transaction, is the apply's.
    const counts = async (manager: EntityManager) => {
      const [row] = await manager.query<{ written: number; read: number }[]>(
        `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int AS written,
                coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::int AS read
           FROM pg_stat_xact_user_tables WHERE relname LIKE 'rm\\_membership\\_v1\\_%'`,
      );
      return row!;
    };
    return db.transaction(async (manager) => {
      const before = await counts(manager);
      await projection.apply(recorded, manager);
      const after = await counts(manager);
      return { written: after.written - before.written, read: after.read - before.read };
    });
  }

  it('a join, a leave, a kick, a re-join and a send each touch a bounded number of rows', async () => {
    const [owner, newcomer, leaver] = users(3);
    const g = conversation(owner!, [leaver!]);
    await spec.apply(spec.record([g.created]));
    // The other members written straight into the tables, as membership.v1 would have written them
    // for a group this size (large: no activity on their rows), and the counter with them.
    const db = await spec.database();
    await db.query(
      `INSERT INTO rm_membership_v1_members (conversation_id, user_id, role, joined_seq, updated_seq)
       SELECT $1, gen_random_uuid(), 'member', 0, 0 FROM generate_series(1, $2)`,
      [g.c, MEMBERS - 2],
    );
    await db.query('UPDATE rm_membership_v1_members SET activity_at = NULL WHERE conversation_id = $1', [g.c]);
    await db.query(
      'UPDATE rm_membership_v1_conversations SET member_count = $2, large = true WHERE conversation_id = $1',
      [g.c, MEMBERS],
    );
    await db.query('ANALYZE rm_membership_v1_members, rm_membership_v1_conversations');

    for (const event of [
      g.joined(newcomer!),
      g.left(leaver!),
      g.kicked(newcomer!, owner!),
      g.joined(leaver!),
      g.sent(owner!),
    ]) {
      // A member row and the conversation's: a few rows written and read, not 100,000.
      const rows = await touched([event]);
      expect(rows.written <= 3 && rows.read <= 10 ? 'bounded' : `${event.event.type}: ${JSON.stringify(rows)}`).toBe(
        'bounded',
      );
    }
    expect((await conversationDetails(db, g.c))?.memberCount).toBe(MEMBERS);
  });
});

describe("membership.v1: the notifier's audience", () => {
  it('is the current members, or only those with a row in the table named (the devices), found by the database', async () => {
    const [owner, bob, cy, dan] = users(4);
    const g = conversation(owner!, [bob!, cy!, dan!]);
    await spec
      .given(g.created)
      .when(g.left(dan!))
      .then(async (db) => {
        await db.query('CREATE TABLE IF NOT EXISTS spec_devices (user_id uuid NOT NULL)');
        await db.query('INSERT INTO spec_devices VALUES ($1), ($2)', [bob, dan]);
        const ids = async (among?: { table: string; column: string }) =>
          new Set((await notificationAudience(db, [g.c], among)).map((m) => m.userId));
        expect(await ids()).toEqual(new Set([owner, bob, cy]));
        expect(await ids({ table: 'spec_devices', column: 'user_id' })).toEqual(new Set([bob]));
        await expect(notificationAudience(db, [g.c], { table: 'x; DROP TABLE y', column: 'user_id' })).rejects.toThrow(
          'not an identifier',
        );
        await db.query('DELETE FROM spec_devices');
      });
  });
});
