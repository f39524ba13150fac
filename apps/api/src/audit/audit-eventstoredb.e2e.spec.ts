/**
 * The audit API with the events in EventStoreDB (a simulated server: no EventStoreDB runs
 * here; simulated-server.testing.ts models its rules), against the same scenario on the
 * PostgreSQL event store: the same conversation, played through HTTP on both, reads back the
 * same through /audit/streams, /audit/log and the as-of view, once ids, checkpoints and times
 * (which differ by nature) are named by their first appearance. What EventStoreDB cannot
 * answer is refused with 409 naming why. `herald export` on both: export-eventstoredb.int.spec.ts.
 */
import { EventStoreDbEventStore, type EventStore } from '@herald/event-store';
import { SimulatedEventStoreDb } from '@herald/event-store/testing';
import { streamIdOf, streamPrefixOf } from '@herald/events';
import { SystemRoles } from '@herald/identity';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { EVENT_STORE } from '../tokens.js';

interface Side {
  readonly app: NestFastifyApplication;
  readonly auditor: TestUser;
}

let postgres: Side;
let esdb: Side;
let server: SimulatedEventStoreDb;

async function side(app: NestFastifyApplication): Promise<Side> {
  const auditor = await signUp(app, 'auditor');
  await app
    .get(SystemRoles)
    .grant(auditor.userId, 'auditor', { actorId: 'cli:test', correlationId: randomUUID(), now: new Date() });
  return { app, auditor };
}

beforeAll(async () => {
  server = new SimulatedEventStoreDb();
  const [pg, es] = await Promise.all([
    testApp(),
    testApp(
      // The URL reaches nothing: the app is given the simulated server's store instead.
      { EVENT_STORE: 'eventstoredb', EVENTSTORE_URL: 'esdb://127.0.0.1:1?tls=false' },
      undefined,
      undefined,
      { eventStore: new EventStoreDbEventStore({ transport: server.connect() }) },
    ),
  ]);
  [postgres, esdb] = await Promise.all([side(pg), side(es)]);
});
afterAll(async () => {
  await Promise.all([postgres?.app.close(), esdb?.app.close()]);
});

async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  expect(response.status, `${response.status}: ${JSON.stringify(data ?? error)}`).toBeLessThan(300);
  return data!;
}

const get = (s: Side, url: string) =>
  s.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${s.auditor.token}` } });

const lines = (body: string): Record<string, unknown>[] =>
  body === ''
    ? []
    : body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * A conversation with a reply, a reaction, an edit, a join, a kick and a deletion, played
 * on one side; answers its id and, for each step, the checkpoint and seq it ended at.
 */
async function scenario(s: Side): Promise<{ id: string; steps: { seq: number; checkpoint: string }[] }> {
  const [ann, bob, cy] = await Promise.all([signUp(s.app, 'ann'), signUp(s.app, 'bob'), signUp(s.app, 'cy')]);
  const api = (who: TestUser) => apiOf(s.app, who);
  const created = await ok(api(ann).POST('/conversations/groups', { body: { name: 'g', memberIds: [bob.userId] } }));
  const id = created.conversationId;
  const steps = [created];
  const send = async (who: TestUser, text: string) => {
    const sent = await ok(
      api(who).POST('/conversations/{id}/messages', {
        params: { path: { id } },
        body: { clientMessageId: randomUUID(), text },
      }),
    );
    steps.push(sent);
    return sent;
  };
  const one = await send(ann, 'one');
  const two = await send(bob, 'two');
  steps.push(
    await ok(
      api(bob).PUT('/conversations/{id}/messages/{messageId}/reactions/{emoji}', {
        params: { path: { id, messageId: one.messageId, emoji: '👍' } },
      }),
    ),
    await ok(
      api(ann).PATCH('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: one.messageId } },
        body: { text: 'one, edited' },
      }),
    ),
  );
  await ok(api(ann).POST('/conversations/{id}/invitations', { params: { path: { id } }, body: { userId: cy.userId } }));
  steps.push(await ok(api(cy).POST('/conversations/{id}/invitations/accept', { params: { path: { id } } })));
  steps.push(
    await ok(
      api(bob).DELETE('/conversations/{id}/messages/{messageId}', {
        params: { path: { id, messageId: two.messageId } },
      }),
    ),
  );
  await send(cy, 'three');
  steps.push(
    await ok(api(ann).DELETE('/conversations/{id}/members/{userId}', { params: { path: { id, userId: cy.userId } } })),
  );
  return { id, steps: steps.map((step) => ({ seq: step.seq, checkpoint: step.checkpoint! })) };
}

/**
 * Ids, checkpoints, times and salted content differ between two runs by nature: each is
 * named by its first appearance, so two answers compare equal when they say the same thing.
 */
function named(value: unknown): unknown {
  const names = new Map<string, string>();
  const name = (kind: string, v: string) => {
    const key = `${kind}:${v}`;
    if (!names.has(key)) names.set(key, `<${kind} ${names.size}>`);
    return names.get(key)!;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      return v
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (m) => name('id', m))
        .replace(/^[0-9a-f]{16}-[0-9a-f]{16}$/, (m) => name('checkpoint', m))
        .replace(/^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)$/, () => '<time>')
        .replace(/^[a-z0-9_]+-[0-9a-f]{6,}$/i, (m) => name('username', m));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

describe('the audit API on EventStoreDB, compared with PostgreSQL', () => {
  it('read the same conversation back the same way: its stream, the log and the as-of view', async () => {
    const [onPg, onEs] = await Promise.all([scenario(postgres), scenario(esdb)]);
    const read = async (s: Side, run: { id: string; steps: { seq: number; checkpoint: string }[] }) => {
      const stream = streamIdOf('conversation', run.id);
      const first = await get(s, `/audit/streams/${stream}/events?limit=3`);
      const firstPage = first.json<{ events: Record<string, unknown>[]; nextCursor: number }>();
      const rest = (await get(s, `/audit/streams/${stream}/events?after=${firstPage.nextCursor}&limit=100`)).json<{
        events: Record<string, unknown>[];
        nextCursor: null;
      }>();
      const log = await get(s, `/audit/log?conversation=${run.id}`);
      const checkpoints = lines(log.body).map((l) => String(l.checkpoint));
      const ranged = await get(
        s,
        `/audit/log?conversation=${run.id}&after=${checkpoints[1]}&upTo=${checkpoints[4]}&type=MessageSent,MessageEdited`,
      );
      const recorded = lines(log.body).map((l) => String(l.recordedAt));
      const timed = await get(s, `/audit/log?conversation=${run.id}&since=${encodeURIComponent(recorded[2]!)}`);
      const asOf = [];
      for (const step of run.steps) {
        for (const point of [`seq=${step.seq}`, `checkpoint=${step.checkpoint}`]) {
          const answer = await get(s, `/audit/conversations/${run.id}?${point}&limit=100`);
          expect(answer.statusCode, answer.body).toBe(200);
          asOf.push(answer.json());
        }
      }
      const store = s.app.get<EventStore>(EVENT_STORE);
      return {
        statuses: [first.statusCode, log.statusCode, ranged.statusCode, timed.statusCode],
        stream: [...firstPage.events, ...rest.events],
        log: lines(log.body),
        ranged: lines(ranged.body).map((l) => [l.revision, l.type]),
        timed: lines(timed.body).map((l) => l.revision),
        asOf,
        stored: await store.readStream(stream, { limit: 1000 }),
      };
    };
    const [pg, es] = [await read(postgres, onPg), await read(esdb, onEs)];
    for (const r of [pg, es]) {
      expect(r.statuses).toEqual([200, 200, 200, 200]);
      // Each store's answers agree with themselves and with what it stores.
      expect(r.log).toEqual(r.stream);
      expect(r.log.map((l) => [l.revision, l.eventId, l.checkpoint, l.data, l.metadata])).toEqual(
        r.stored.map((e) => [e.streamRevision, e.eventId, e.globalPosition, e.data, e.metadata]),
      );
      // PostgreSQL's lines have the microseconds the port's Date does not carry.
      expect(r.log.map((l) => new Date(String(l.recordedAt)).getTime())).toEqual(
        r.stored.map((e) => e.recordedAt.getTime()),
      );
      expect(r.ranged).toEqual([
        [2, 'MessageSent'],
        [4, 'MessageEdited'],
      ]);
      expect(r.timed[0]).toBeLessThanOrEqual(2);
      expect(r.timed.at(-1)).toBe(r.log.length - 1);
    }
    expect(pg.log.map((l) => l.type)).toEqual([
      'GroupCreated',
      'MessageSent',
      'MessageSent',
      'ReactionAdded',
      'MessageEdited',
      expect.any(String),
      'MemberJoined',
      'MessageDeleted',
      'MessageSent',
      'MemberKicked',
    ]);
    // The two stores said the same thing.
    // Ids named by their first appearance in the log; members (listed by user id) then sorted by those names.
    const said = (r: typeof pg) => {
      const [log, asOf] = named([r.log, r.asOf]) as [unknown, { members: { userId: string }[] }[]];
      return {
        log,
        asOf: asOf.map((a) => ({ ...a, members: a.members.sort((x, y) => x.userId.localeCompare(y.userId)) })),
      };
    };
    expect(said(es)).toEqual(said(pg));
    expect(es.ranged).toEqual(pg.ranged);
  });

  it('reads the whole log by checkpoint range and filters through the port, in log order', async () => {
    const run = await scenario(esdb);
    const all = lines((await get(esdb, '/audit/log')).body);
    const checkpoints = all.map((l) => String(l.checkpoint));
    expect(checkpoints).toEqual([...checkpoints].sort());
    expect(new Set(all.map((l) => l.eventId)).size).toBe(all.length);
    const stored = (await esdb.app.get<EventStore>(EVENT_STORE).readAll({ limit: 10_000 })).events;
    expect(all.map((l) => l.eventId)).toEqual(
      stored.filter((e) => String(e.globalPosition) <= checkpoints.at(-1)!).map((e) => e.eventId),
    );
    const conversation = streamIdOf('conversation', run.id);
    const mine = all.filter((l) => l.streamId === conversation);
    const sent = lines(
      (await get(esdb, `/audit/log?category=conversation&type=MessageSent&after=${String(mine[0]!.checkpoint)}`)).body,
    );
    expect(sent.filter((l) => l.streamId === conversation).map((l) => l.revision)).toEqual(
      mine.filter((l) => l.type === 'MessageSent').map((l) => l.revision),
    );
    expect(
      sent.every((l) => l.type === 'MessageSent' && String(l.streamId).startsWith(streamPrefixOf('conversation'))),
    ).toBe(true);
    const actor = String((mine[1]!.metadata as { actorId: string }).actorId);
    const byActor = lines((await get(esdb, `/audit/log?actor=${actor}&upTo=${String(mine.at(-1)!.checkpoint)}`)).body);
    expect(byActor.length).toBeGreaterThan(0);
    expect(byActor.every((l) => (l.metadata as { actorId: string }).actorId === actor)).toBe(true);
    expect(byActor.map((l) => l.eventId)).toEqual(
      all
        .filter(
          (l) =>
            (l.metadata as { actorId: string }).actorId === actor &&
            String(l.checkpoint) <= String(mine.at(-1)!.checkpoint),
        )
        .map((l) => l.eventId),
    );
    // The audit trail: every read is recorded on EventStoreDB too.
    const trail = lines((await get(esdb, `/audit/log?category=audit&actor=${esdb.auditor.userId}`)).body);
    expect(trail.map((l) => (l.data as { read: string }).read)).toContain('GET /audit/log');
  });

  it('refuses with 409 (herald export: exit 2) what EventStoreDB cannot answer, naming why', async () => {
    const since = encodeURIComponent(new Date(Date.now() - 60_000).toISOString());
    const timed = await get(esdb, `/audit/log?since=${since}`);
    expect(timed.statusCode).toBe(409);
    const refusal = timed.json<{ error: { code: string; message: string } }>().error;
    expect(refusal.code).toBe('EVENT_STORE.UNSUPPORTED_READ');
    expect(refusal.message).toMatch(/index by recorded time/);
    // PostgreSQL has the index: the same read answers there.
    expect((await get(postgres, `/audit/log?since=${since}&type=GroupCreated`)).statusCode).toBe(200);
    const store = esdb.app.get<EventStore>(EVENT_STORE);

    // History the server no longer serves: a soft-deleted stream, a stream cut by retention.
    const run = await scenario(esdb);
    const stream = streamIdOf('conversation', run.id);
    await store.setStreamMetadata(stream, { truncateBefore: 3 });
    const cut = await get(esdb, `/audit/streams/${stream}/events`);
    expect(cut.statusCode).toBe(409);
    expect(cut.json<{ error: { message: string } }>().error.message).toMatch(/serves from revision 3: read after 2/);
    const served = (await get(esdb, `/audit/streams/${stream}/events?after=2`)).json<{
      events: { revision: number }[];
    }>();
    expect(served.events.map((e) => e.revision)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect((await get(esdb, `/audit/log?conversation=${run.id}`)).statusCode).toBe(409);
    expect((await get(esdb, `/audit/conversations/${run.id}?seq=5`)).statusCode).toBe(409);
    await store.deleteStream(stream);
    const deleted = await get(esdb, `/audit/streams/${stream}/events?after=2`);
    expect(deleted.statusCode).toBe(409);
    expect(deleted.json<{ error: { message: string } }>().error.message).toMatch(/deleted, or .* past its retention/);
    // A stream that never was is an empty page, as on PostgreSQL.
    for (const s of [esdb, postgres]) {
      const none = await get(s, `/audit/streams/${streamIdOf('conversation', randomUUID())}/events`);
      expect(none.json()).toEqual({ events: [], nextCursor: null });
    }
  });
});
