/**
 * `herald export` on both event stores: the same events appended through the PostgreSQL
 * adapter and through the EventStoreDB adapter (on a simulated server: none runs here) export
 * as the same lines — only each event's checkpoint and recorded time, the store's own, differ —
 * with the same filters; what EventStoreDB cannot answer (a time range over the whole log)
 * is exit code 2 naming why, nothing written. The command line's parsing and exit codes
 * against a real process: audit-commands.e2e.spec.ts.
 */
import { EventStoreDbEventStore, PostgresEventStore, type EventStore, type NewEvent } from '@herald/event-store';
import { SimulatedEventStoreDb } from '@herald/event-store/testing';
import { streamIdOf } from '@herald/events';
import { catalogueEvents, freshDatabase } from '@herald/testing';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../cli-error.js';
import { exportParams, writeExport } from './export.js';

let postgres: PostgresEventStore;
let esdb: EventStoreDbEventStore;

beforeAll(async () => {
  postgres = new PostgresEventStore({ connectionString: await freshDatabase(), poolSize: 2 });
  await postgres.migrate();
  esdb = new EventStoreDbEventStore({ transport: new SimulatedEventStoreDb().connect() });
});
afterAll(async () => {
  await Promise.all([postgres?.close(), esdb?.close()]);
});

async function exported(store: EventStore, options: Record<string, string>): Promise<Record<string, unknown>[]> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const count = await writeExport(store, exportParams(options), out);
  out.end();
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text === '' ? [] : text.trimEnd().split('\n');
  expect(lines).toHaveLength(count);
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A line without what each store assigns itself. */
const content = ({ checkpoint, recordedAt, ...rest }: Record<string, unknown>) => {
  expect(checkpoint).toMatch(/^[0-9a-f]{16}-[0-9a-f]{16}$/);
  expect(recordedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/);
  return rest;
};

describe('herald export on PostgreSQL and on EventStoreDB', () => {
  it('writes the same lines for the same events, with the same filters, and records each export', async () => {
    const conversationId = randomUUID();
    const [ann, bob] = [randomUUID(), randomUUID()];
    const conversation = streamIdOf('conversation', conversationId);
    const said: NewEvent[] = ['one', 'two', 'three', 'four'].map((text, n) =>
      catalogueEvents.messageSent(conversationId, n % 2 === 0 ? ann : bob, text),
    );
    const users = [catalogueEvents.userRegistered(ann, 'ann'), catalogueEvents.userRegistered(bob, 'bob')];
    for (const store of [postgres, esdb]) {
      await store.append(conversation, said.slice(0, 2), 'no_stream');
      await store.append(streamIdOf('user', ann), [users[0]!], 'no_stream');
      await store.append(streamIdOf('user', bob), [users[1]!], 'no_stream');
      await store.append(conversation, said.slice(2), 1);
    }
    const both = async (options: Record<string, string> | ((store: EventStore) => Promise<Record<string, string>>)) => {
      const run = async (store: EventStore) =>
        exported(store, typeof options === 'function' ? await options(store) : options);
      return { pg: await run(postgres), es: await run(esdb) };
    };

    const stream = await both({ conversation: conversationId });
    expect(stream.es.map(content)).toEqual(stream.pg.map(content));
    expect(stream.pg.map(content)).toEqual(
      said.map((e, revision) => ({
        streamId: conversation,
        revision,
        eventId: e.eventId,
        type: e.type,
        schemaVersion: 1,
        data: e.data,
        metadata: e.metadata,
      })),
    );
    // Each store's lines carry its own places, in order, and the time it recorded them.
    for (const [store, lines] of [
      [postgres, stream.pg],
      [esdb, stream.es],
    ] as const) {
      const stored = await store.readStream(conversation);
      expect(lines.map((l) => l.checkpoint)).toEqual(stored.map((e) => e.globalPosition));
      expect(lines.map((l) => new Date(String(l.recordedAt)).getTime())).toEqual(
        stored.map((e) => e.recordedAt.getTime()),
      );
    }

    // The whole log, by type, by category, by actor, by checkpoint range: the same on both.
    const after = (store: EventStore) => (store === postgres ? stream.pg : stream.es)[0]!.checkpoint as string;
    const upTo = (store: EventStore) => (store === postgres ? stream.pg : stream.es)[2]!.checkpoint as string;
    const filters: Record<string, string>[] = [
      { type: 'MessageSent' },
      { category: 'user' },
      { actor: bob },
      { category: 'conversation,user', type: 'UserRegistered,MessageSent' },
    ];
    for (const options of filters) {
      const { pg, es } = await both(options);
      expect(es.map(content), JSON.stringify(options)).toEqual(pg.map(content));
      expect(pg.length).toBeGreaterThan(0);
    }
    const ranged = await both((store) => Promise.resolve({ after: after(store), upTo: upTo(store) }));
    expect(ranged.es.map(content)).toEqual(ranged.pg.map(content));
    expect(ranged.pg.map((l) => l.eventId)).toEqual([
      said[1]!.eventId,
      users[0]!.eventId,
      users[1]!.eventId,
      said[2]!.eventId,
    ]);

    // Every export is in audit-cli, as the OS user who ran it, on either store.
    for (const store of [postgres, esdb]) {
      const trail = await store.readStream(streamIdOf('audit', 'cli'));
      expect(trail.map((e) => e.data)).toContainEqual({
        auditor: `cli:${userInfo().username}`,
        read: 'herald export',
        params: { actor: bob },
      });
    }
  });

  it('refuses a time range over the whole log on EventStoreDB (exit code 2, naming why, nothing written)', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
    const refused = await writeExport(esdb, exportParams({ since }), out).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).exitCode).toBe(2);
    expect((refused as CliError).message).toMatch(/index by recorded time.*EventStoreDB.*after, upTo.*conversation/);
    expect(written).toBe('');
    // PostgreSQL reads it by its recorded_at index; one conversation's range reads on either.
    expect((await exported(postgres, { since, type: 'MessageSent' })).length).toBeGreaterThan(0);
    const conversationId = randomUUID();
    for (const store of [postgres, esdb]) {
      await store.append(
        streamIdOf('conversation', conversationId),
        [catalogueEvents.messageSent(conversationId, randomUUID(), 'hi')],
        'no_stream',
      );
      expect((await exported(store, { since, conversation: conversationId })).map((l) => l.revision)).toEqual([0]);
    }
  });
});
