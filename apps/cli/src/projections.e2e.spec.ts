/**
 * `herald projections …` end to end: the built CLI (`node dist/apps/cli/src/main.js`, made
 * by `npm run build`, which `npm test` runs first) against the test PostgreSQL through
 * DATABASE_URL, on read models a projection runner filled as a running Herald would.
 */
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore, type NewEvent } from '@herald/event-store';
import { streamIdOf, type CatalogueEvent } from '@herald/events';
import {
  createReadModelDataSource,
  PROJECTION_RUNTIME_MIGRATIONS,
  ProjectionRunner,
  type Projection,
} from '@herald/projection-runtime';
import { MEMBERSHIP, READ_MODELS, readModelMigrations, readModelProjections } from '@herald/projections';
import { alterMessageText, TIMELINE_MESSAGES_TABLE } from '@herald/projections/testing';
import { eventually, freshDatabase } from '@herald/testing';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../../../dist/apps/cli/src/main.js', import.meta.url));
let databaseUrl: string;
let db: DataSource;
let store: PostgresEventStore;

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as an operator would (asynchronously: the test's own pools stay served meanwhile). */
function herald(...args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill(), 90_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const [OWNER, BOB] = [randomUUID(), randomUUID()];
const C = randomUUID();
const MESSAGES = Array.from({ length: 30 }, () => randomUUID());

function event(e: CatalogueEvent, occurredAt = new Date().toISOString()): NewEvent {
  return {
    eventId: randomUUID(),
    type: e.type,
    schemaVersion: 1,
    data: e.data,
    metadata: { actorId: OWNER, correlationId: 'cli', causationId: 'cli', occurredAt },
  };
}

/** Runs every read model's projection until it holds the whole log, then stops it (as a Herald that ran and stopped). */
async function project(): Promise<void> {
  const runners = readModelProjections().map((p: Projection) => new ProjectionRunner(store, db, p, { recheckMs: 50 }));
  for (const runner of runners) runner.start();
  const head = await store.headCheckpoint();
  await eventually(async () => {
    for (const runner of runners) {
      if (runner.status().state === 'stopped') continue;
      if ((await runner.position()) < head) return false;
    }
    return true;
  });
  await Promise.all(runners.map((r) => r.stop()));
}

beforeAll(async () => {
  databaseUrl = await freshDatabase();
  store = new PostgresEventStore({ connectionString: databaseUrl, poolSize: 2 });
  await store.migrate();
  await migrateDatabase(databaseUrl, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
  db = await createReadModelDataSource({ url: databaseUrl, poolSize: 12 }).initialize();
  const none = { userIds: [], all: false };
  await store.append(
    streamIdOf('conversation', C),
    [
      event({ type: 'GroupCreated', data: { conversationId: C, ownerId: OWNER, name: 'cli', memberIds: [BOB] } }),
      ...MESSAGES.map((messageId, i) =>
        event({
          type: 'MessageSent',
          data: { conversationId: C, messageId, senderId: OWNER, text: `m${i}`, mentions: none, attachments: [] },
        }),
      ),
      event({ type: 'MessageEdited', data: { conversationId: C, messageId: MESSAGES[0]!, text: 'e', mentions: none } }),
      event({ type: 'ReactionAdded', data: { conversationId: C, messageId: MESSAGES[1]!, userId: BOB, emoji: '👍' } }),
    ],
    'no_stream',
  );
  // The directory's rows: users, a profile, a block.
  for (const [i, userId] of [OWNER, BOB].entries())
    await store.append(
      streamIdOf('user', userId),
      [event({ type: 'UserRegistered', data: { userId, username: `cli${i}`, displayName: `Cli ${i}` } })],
      'no_stream',
    );
  await store.append(
    streamIdOf('user', BOB),
    [
      event({ type: 'ProfileUpdated', data: { userId: BOB, displayName: 'Bob', statusText: 'here' } }),
      event({ type: 'UserBlocked', data: { userId: BOB, blockedUserId: OWNER } }),
    ],
    'any',
  );
  await store.append(
    streamIdOf('receipts', BOB),
    [event({ type: 'ConversationRead', data: { userId: BOB, conversationId: C, upToSeq: 5 } })],
    'any',
  );
  await project();
});
afterAll(async () => {
  await db?.destroy();
  await store?.close();
});

describe('herald projections', () => {
  it('--help on every command, exit code 0', async () => {
    for (const command of ['list', 'status', 'rebuild', 'resolve', 'check']) {
      const ran = await herald('projections', command, '--help');
      expect(ran.status).toBe(0);
      expect(ran.stdout).toMatch(new RegExp(`^Usage: herald projections ${command}`));
    }
  });

  it('list names every read model with its generation and lag', async () => {
    const ran = await herald('projections', 'list', '--json');
    expect(ran.status).toBe(0);
    const rows = JSON.parse(ran.stdout) as { name: string; generation: number; lag: number; state: string }[];
    expect(rows.map((r) => r.name)).toEqual(READ_MODELS.map((m) => m.name));
    expect(rows.every((r) => r.generation === 1 && r.lag === 0 && r.state === 'running')).toBe(true);
  });

  it('an unknown read model is a usage error (exit code 2)', async () => {
    const ran = await herald('projections', 'rebuild', 'nope');
    expect(ran.status).toBe(2);
    expect(ran.stderr).toMatch(/no read model "nope"; the read models are membership.v1, timeline.v1/);
  });

  it('check --all finds every read model identical to its replay; a changed row is named (exit 1); a rebuild repairs it', async () => {
    const all = await herald('projections', 'check', '--all');
    expect(all.status).toBe(0);
    // Progress on stderr (a line every 5 s and at the end when stderr is not a terminal).
    expect(all.stderr).toMatch(/^replaying timeline\.v1: 38\/38 events, \d+\/s, ETA 0 s$/m);
    expect(all.stdout).toMatch(
      /^directory\.v1: identical to a replay at checkpoint \S+ \(\d+ tables, [1-9]\d* rows\)$/m,
    );
    expect(all.stdout.trim().split('\n')).toHaveLength(READ_MODELS.length);
    expect(all.stdout).toMatch(/^timeline\.v1: identical to a replay at checkpoint \S+ \(4 tables, \d+ rows\)$/m);

    await alterMessageText(db, MESSAGES[7]!, 'not what was sent');
    const differs = await herald('projections', 'check', 'timeline');
    expect(differs.status).toBe(1);
    expect(differs.stdout).toMatch(/timeline\.v1: DIFFERS from a replay at checkpoint/);
    expect(differs.stdout).toMatch(new RegExp(`table ${TIMELINE_MESSAGES_TABLE}, row \\d+`));
    expect(differs.stdout).toMatch(/serving: .*not what was sent/);
    expect(differs.stdout).toMatch(/replay: .*,m7,/);

    const rebuilt = await herald('projections', 'rebuild', 'timeline', '--grace', '0');
    expect(rebuilt.status).toBe(0);
    expect(rebuilt.stdout).toMatch(
      /^timeline\.v1: generation 2 serving from checkpoint \S+ \(\d+ events applied in [\d.]+ s\); the old tables stay in schema herald_retired_timeline_v1_g1 until /,
    );
    const again = await herald('projections', 'check', 'timeline.v1');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/identical/);
    // The grace period was 0: the next command dropped the old tables.
    const status = await herald('projections', 'status', 'timeline', '--json');
    expect(status.status).toBe(0);
    const [report] = JSON.parse(status.stdout) as { generation: number; generations: { state: string }[] }[];
    expect(report!.generation).toBe(2);
    expect(report!.generations.map((g) => g.state)).toEqual(['dropped', 'serving']);
  });

  it('resolve --skip and --retry decide on a parked event; nothing parked is exit code 1; no flag is exit code 2', async () => {
    // A mute in year 0: membership cannot apply it, and parks it.
    const park = async (): Promise<void> => {
      await store.append(
        streamIdOf('receipts', randomUUID()),
        [
          event({
            type: 'ConversationMuteChanged',
            data: { conversationId: C, userId: BOB, muted: true, until: '0000-01-01T00:00:00Z' },
          }),
        ],
        'any',
      );
      await project();
    };
    await park();
    const status = await herald('projections', 'status', 'membership');
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^membership\.v1: generation 1 serving, parked, 1 events behind/);
    expect(status.stdout).toMatch(/parked: event \S+ \(ConversationMuteChanged, stream receipts-\S+ revision 0\)/);

    expect((await herald('projections', 'resolve', 'membership')).status).toBe(2);
    const skipped = await herald('projections', 'resolve', 'membership', '--skip');
    expect(skipped.status).toBe(0);
    expect(skipped.stdout).toMatch(/membership\.v1: event \S+ \(ConversationMuteChanged\) skipped/);
    const list = JSON.parse((await herald('projections', 'list', '--json')).stdout) as {
      name: string;
      state: string;
      lag: number;
    }[];
    expect(list.find((r) => r.name === MEMBERSHIP)).toMatchObject({ state: 'running', lag: 0 });

    const nothing = await herald('projections', 'resolve', 'membership', '--retry');
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toBe('herald: membership.v1 has no parked event\n');

    await park();
    const retried = await herald('projections', 'resolve', 'membership', '--retry');
    expect(retried.status).toBe(0);
    expect(retried.stdout).toMatch(/will be applied again/);
    // Applied again, it fails again and is parked again: the retry was taken.
    await project();
    const after = await herald('projections', 'status', 'membership', '--json');
    const [report] = JSON.parse(after.stdout) as { state: string; parked: { eventType: string } | null }[];
    expect(report).toMatchObject({ state: 'parked', parked: { eventType: 'ConversationMuteChanged' } });
  });
});
