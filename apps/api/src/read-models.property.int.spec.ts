/**
 * No input a user can send stops a read model (property-based). fast-check generates
 * sequences of requests with boundary values (extreme dates, huge, zero, negative and
 * fractional numbers, strings at and past their length limits, lone surrogates, NUL, emoji,
 * CJK); each goes over the wire as JSON, through the API's own request schemas and then the
 * deciders (conversations, identity), exactly as the controllers pass it on; what they
 * accept is appended to the event store, and every read model follows it on PostgreSQL.
 * The property: not one event is parked, every projection reaches the head of the log.
 *
 * CI: a fixed seed and at least 2,000 generated requests. A longer run, with a random
 * seed that is printed: `npm run test:fuzz` (HERALD_FUZZ_RUNS, HERALD_FUZZ_SEED).
 */
import { migrateDatabase } from '@herald/database';
import { PostgresEventStore } from '@herald/event-store';
import { ConversationError, ConversationService, directConversationId } from '@herald/conversations';
import { AccessTokens, IdentityError, IdentityService } from '@herald/identity';
import { parseInput, RequestInvalid } from '@herald/nest';
import { createReadModelDataSource, PROJECTION_RUNTIME_MIGRATIONS, ProjectionRunner } from '@herald/projection-runtime';
import { readModelMigrations, readModelProjections } from '@herald/projections';
import { freshDatabase, TEST_JWT_SECRET } from '@herald/testing';
import fc from 'fast-check';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_REQUESTS } from './auth/auth.controller.js';
import { CONVERSATION_REQUESTS as R } from './conversations/conversations.controller.js';

// The one place this test reads the environment: the knobs of the longer run.
const FUZZ_RUNS = Number(process.env.HERALD_FUZZ_RUNS ?? 0);
const LONG_RUN = FUZZ_RUNS > 0;
const SEED = process.env.HERALD_FUZZ_SEED
  ? Number(process.env.HERALD_FUZZ_SEED)
  : LONG_RUN
    ? Math.floor(Math.random() * 2 ** 31)
    : 20261207;
const RUNS = LONG_RUN ? FUZZ_RUNS : 40;
/** Requests per run: CI runs 40 of 45..65, so at least 2,000 in all (checked at the end). */
const PER_RUN = { minLength: 45, maxLength: 65 };
const CI_BUDGET = 2_000;

// ------------------------------------------------------------------ values at the edges

/** Code units and characters that have broken text handling somewhere. */
const UNIT = fc.oneof(
  fc.constantFrom(
    'a',
    ' ',
    '\u0000',
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
    '😀',
    '👍🏽',
    '👨‍👩‍👧',
    '中',
    '語',
    '𝔘',
    '\u200b',
    '\u202e',
    '\ufeff',
    '\uffff',
    'é',
    'e\u0301',
    '\\',
    '"',
    "'",
    '\n',
    '%',
    '\u00a0',
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
);
/** Mostly what a client means to send, sometimes anything at all: refusals must not crowd out the events. */
const mostly = (valid: fc.Arbitrary<unknown>, hostile: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 8, arbitrary: valid }, { weight: 1, arbitrary: hostile });
/** Lengths around every limit a string has (and PostgreSQL's btree entry size). */
const LENGTHS = [
  0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 100, 101, 127, 128, 129, 139, 140, 141, 255, 256, 2047, 2048, 2049,
];
const LONG_LENGTHS = [4095, 4096, 4097, 5461, 5462, 16383, 16384, 16385];
const text = (long = false): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: UNIT.filter((u) => u !== '\u0000'), minLength: 1, maxLength: 24 }) },
    // Exactly n code units: a limit hit in the middle of a surrogate pair.
    {
      weight: 2,
      arbitrary: fc
        .tuple(UNIT, fc.constantFrom(...LENGTHS, ...(long ? LONG_LENGTHS : [])))
        .map(([unit, n]) => unit.repeat(Math.ceil(n / Math.max(1, unit.length))).slice(0, n)),
    },
    { weight: 1, arbitrary: fc.tuple(fc.string({ unit: UNIT, maxLength: 8 }), fc.string()).map(([a, b]) => a + b) },
  );
/** Integers past every bound JSON can carry (NaN and Infinity become null on the wire). */
const anyNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 63, 1e300, -1e300),
  fc.double(),
  fc.constantFrom('1', '0x10', '', null, true),
);
const seq = mostly(fc.integer({ min: 0, max: 40 }), anyNumber);
/** Times: the bounds and past them, every year, both ends of a JS Date, the shapes an ISO string can take. */
const time = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '1969-12-31T23:59:59.999Z',
      '1970-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999999999Z',
      '10000-01-01T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T23:59:60Z',
      '2024-01-01T00:00:00+01:00',
      '2024-01-01',
      '',
      'infinity',
      null,
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 9999 }).map((y) => `${String(y).padStart(4, '0')}-06-15T12:00:00Z`),
  },
  {
    weight: 1,
    arbitrary: fc
      .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
      .map((d) => d.toISOString()),
  },
);
/** Someone, by index into the run's users; or an id that is no user's, or no id at all. */
const who = fc.oneof(
  { weight: 8, arbitrary: fc.nat().map((i) => ({ user: i })) },
  { weight: 1, arbitrary: fc.uuid().map((id) => ({ raw: id })) },
  { weight: 1, arbitrary: text().map((raw) => ({ raw })) },
);
type Who = { user: number } | { raw: string };
const url = mostly(
  fc.oneof(
    fc.webUrl(),
    text().map((t) => `https://files.example/${encodeURIComponent(t.replace(/[\ud800-\udfff]/g, ''))}`),
  ),
  fc.oneof(
    text().map((t) => `https://files.example/${t}`),
    text(),
  ),
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arbitrary, { nil: undefined, freq: 2 });
const orNull = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof(arbitrary, fc.constant(null), fc.constant(undefined));
const mentions = maybe(fc.record({ userIds: fc.array(who, { maxLength: 4 }), all: mostly(fc.boolean(), anyNumber) }));
const attachment = mostly(
  fc.record({
    url,
    name: text(),
    mimeType: fc.oneof(fc.constantFrom('image/png', 'text/plain'), text()),
    sizeBytes: mostly(fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 31, Number.MAX_SAFE_INTEGER)), anyNumber),
  }),
  fc.record({ url, name: text(), mimeType: text(), sizeBytes: anyNumber, extra: text() }, { requiredKeys: [] }),
);

// ------------------------------------------------------------------ requests

/**
 * A request: who sends it (`asMember`: one of the conversation's members, else anyone), in
 * which conversation and about which message: indexes into what the run has made so far.
 */
const at = {
  actor: fc.nat(),
  asMember: fc.integer({ min: 0, max: 9 }).map((n) => n < 8),
  conversation: fc.nat(),
  message: fc.nat(),
};
const request = fc.oneof(
  fc.record({
    kind: fc.constant('group' as const),
    ...at,
    name: mostly(text(), anyNumber),
    description: maybe(text(true)),
    memberIds: maybe(fc.array(who, { maxLength: 5 })),
  }),
  fc.record({ kind: fc.constant('direct' as const), ...at, other: who }),
  fc.record({
    kind: fc.constant('change' as const),
    ...at,
    name: maybe(text()),
    description: orNull(text(true)),
    announcement: orNull(text(true)),
    announcementOnly: maybe(mostly(fc.boolean(), anyNumber)),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'invite' as const,
        'withdraw' as const,
        'kick' as const,
        'role' as const,
        'transfer' as const,
      ),
      ...at,
      other: who,
      role: mostly(fc.constantFrom('admin', 'member'), fc.oneof(fc.constant('owner'), text())),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constantFrom(
        'accept' as const,
        'leave' as const,
        'dissolve' as const,
        'createLink' as const,
        'join' as const,
        'revokeLink' as const,
      ),
      ...at,
      garbage: fc.oneof({ weight: 1, arbitrary: text() }, { weight: 6, arbitrary: fc.constant(undefined) }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('mute' as const),
      ...at,
      muted: mostly(fc.boolean(), anyNumber),
      until: fc.option(time, { nil: undefined, freq: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('read' as const, 'delivered' as const), ...at, upToSeq: seq }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      ...at,
      clientMessageId: fc.oneof(text(), fc.constantFrom('same', 'again')),
      text: maybe(text(true)),
      replyTo: maybe(
        fc.oneof(
          fc.nat().map((i) => ({ message: i })),
          fc.uuid().map((raw) => ({ raw })),
        ),
      ),
      mentions,
      attachments: maybe(fc.array(attachment, { maxLength: 3 })),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('edit' as const), ...at, text: text(true), mentions }),
  },
  fc.record({ kind: fc.constant('delete' as const), ...at }),
  // Moderation: silences (durations at and past their bounds), bans, pins.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('silence' as const),
      ...at,
      other: who,
      durationSeconds: mostly(
        fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.constantFrom(1, 366 * 86_400, 366 * 86_400 + 1)),
        anyNumber,
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('unsilence' as const, 'ban' as const, 'unban' as const),
      ...at,
      other: who,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constantFrom('pin' as const, 'unpin' as const), ...at }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constantFrom('react' as const, 'unreact' as const), ...at, emoji: text() }),
  },
  fc.record({
    kind: fc.constant('register' as const),
    ...at,
    username: mostly(fc.stringMatching(/^[a-z0-9_.-]{3,32}$/), text()),
    displayName: text(),
  }),
  fc.record({
    kind: fc.constant('profile' as const),
    ...at,
    displayName: maybe(text()),
    avatarUrl: orNull(url),
    statusText: orNull(text()),
  }),
  fc.record({
    kind: fc.constantFrom(
      'block' as const,
      'unblock' as const,
      'Request' as const,
      'Accept' as const,
      'Decline' as const,
      'Remove' as const,
    ),
    ...at,
    other: who,
  }),
);
type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

// ------------------------------------------------------------------ the system under test

let db: DataSource;
let store: PostgresEventStore;
let identity: IdentityService;
let conversations: ConversationService;
let runners: ProjectionRunner[];
/** Users of the whole test (registered once: a registration starts a session). */
const users: string[] = [];
let generated = 0;
/** Requests that got through the edge and the deciders, by kind: the test must reach the read models. */
const accepted = new Map<string, number>();

beforeAll(async () => {
  const url = await freshDatabase();
  store = new PostgresEventStore({ connectionString: url, poolSize: 4 });
  await store.migrate();
  await migrateDatabase(url, [...PROJECTION_RUNTIME_MIGRATIONS, ...readModelMigrations()]);
  db = await createReadModelDataSource({ url, poolSize: 8 }).initialize();
  // Hashing is not what is tested: a precomputed hash spares argon2's time.
  identity = new IdentityService(store, new AccessTokens(TEST_JWT_SECRET, 900), 3600, () =>
    Promise.resolve('$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'),
  );
  conversations = new ConversationService(store, {
    exists: (userId) => identity.exists(userId),
    hasBlocked: (blocker, blocked) => identity.hasBlocked(blocker, blocked),
  });
  for (let i = 0; i < 5; i++) {
    const { userId } = await identity.register(
      { username: `fuzz${i}${randomBytes(4).toString('hex')}`, password: 'password-1', displayName: `user ${i}` },
      { correlationId: 'fuzz', now: new Date() },
    );
    users.push(userId);
  }
  runners = readModelProjections().map(
    (projection) => new ProjectionRunner(store, db, projection, { recheckMs: 100, initialBackoffMs: 10 }),
  );
  for (const runner of runners) runner.start();
});

afterAll(async () => {
  await Promise.all((runners ?? []).map((runner) => runner.stop()));
  await db?.destroy();
  await store?.close();
});

/** What one run has made so far, for later requests to refer to. */
interface Run {
  readonly conversations: string[];
  readonly messages: Map<string, string[]>;
  readonly links: Map<string, { token: string; linkId: string }[]>;
}

/** Each run starts with a group of the first users and a direct conversation, each with a message. */
async function startRun(): Promise<Run> {
  const [owner, other] = [users[0]!, users[1]!];
  const context = { actorId: owner, correlationId: 'fuzz', now: new Date() };
  const group = randomUUID();
  const direct = directConversationId(owner, other);
  await conversations.execute(
    group,
    { type: 'CreateGroup', actorId: owner, conversationId: group, name: 'fuzz', memberIds: users.slice(1, 5) },
    context,
  );
  await conversations.execute(
    direct,
    { type: 'StartDirectConversation', actorId: owner, conversationId: direct, otherUserId: other },
    context,
  );
  const run: Run = { conversations: [group, direct], messages: new Map(), links: new Map() };
  for (const id of run.conversations) {
    const messageId = randomUUID();
    const none = { userIds: [], all: false };
    const send = {
      type: 'SendMessage',
      actorId: owner,
      messageId,
      text: 'hi',
      mentions: none,
      attachments: [],
      now: context.now,
    } as const;
    await conversations.execute(id, { ...send, clientMessageId: randomUUID() }, context);
    run.messages.set(id, [messageId]);
  }
  return run;
}

const pick = <T>(list: readonly T[], i: number): T | undefined =>
  list.length === 0 ? undefined : list[i % list.length];
const userOf = (w: Who): string => ('user' in w ? users[w.user % users.length]! : w.raw);
/** As the body reaches the server: JSON (undefined fields vanish, NaN and Infinity become null). */
const wire = (body: object): unknown => JSON.parse(JSON.stringify(body));

/** Sends one request the way its controller does; refusals the API answers with are fine. */
async function perform(r: Request, run: Run): Promise<void> {
  const conversationId = pick(run.conversations, r.conversation) ?? randomUUID();
  const members = r.asMember ? [...(await conversations.state(conversationId)).members] : [];
  // Half the members' requests come from an admin or the owner: group management needs one.
  const admins = members.filter(([, member]) => member.role !== 'member');
  const actorId =
    (r.actor % 2 === 0 ? pick(admins, r.actor >> 1) : pick(members, r.actor))?.[0] ?? users[r.actor % users.length]!;
  /** Whom a kick, a role change or a transfer names: a member, mostly. */
  const member = (w: Who): string => ('user' in w ? (pick(members, w.user)?.[0] ?? userOf(w)) : w.raw);
  const context = { actorId, correlationId: 'fuzz', now: new Date() };
  const messageId = pick(run.messages.get(conversationId) ?? [], r.message) ?? randomUUID();
  const execute = async (id: string, command: Parameters<ConversationService['execute']>[1]) => {
    const outcome = await conversations.execute(id, command, context);
    for (const event of outcome.events) {
      if (event.type === 'MessageSent') run.messages.set(id, [...(run.messages.get(id) ?? []), event.data.messageId]);
    }
    return outcome;
  };
  switch (r.kind) {
    case 'group': {
      const b = parseInput(
        R.GroupBody,
        wire({ name: r.name, description: r.description, memberIds: r.memberIds?.map(userOf) }),
      );
      const id = randomUUID();
      await execute(id, {
        type: 'CreateGroup',
        actorId,
        conversationId: id,
        name: b.name,
        memberIds: b.memberIds,
        ...(b.description !== undefined ? { description: b.description } : {}),
      });
      run.conversations.push(id);
      return;
    }
    case 'direct': {
      const { userId } = parseInput(R.DirectBody, wire({ userId: userOf(r.other) }));
      const id = directConversationId(actorId, userId);
      await execute(id, { type: 'StartDirectConversation', actorId, conversationId: id, otherUserId: userId });
      run.conversations.push(id);
      return;
    }
    case 'change': {
      const b = parseInput(
        R.GroupChanges,
        wire({
          name: r.name,
          description: r.description,
          announcement: r.announcement,
          announcementOnly: r.announcementOnly,
        }),
      );
      if (
        b.name === undefined &&
        b.description === undefined &&
        b.announcement === undefined &&
        b.announcementOnly === undefined
      )
        return;
      await execute(conversationId, {
        type: 'ChangeGroup',
        actorId,
        ...(b.name !== undefined ? { name: b.name } : {}),
        ...(b.description !== undefined ? { description: b.description } : {}),
        ...(b.announcement !== undefined ? { announcement: b.announcement } : {}),
        ...(b.announcementOnly !== undefined ? { announcementOnly: b.announcementOnly } : {}),
      });
      return;
    }
    case 'invite':
    case 'transfer': {
      const userId = parseInput(
        R.UserBody,
        wire({ userId: r.kind === 'invite' ? userOf(r.other) : member(r.other) }),
      ).userId;
      await execute(conversationId, {
        type: r.kind === 'invite' ? 'InviteMember' : 'TransferOwnership',
        actorId,
        userId,
      });
      return;
    }
    case 'withdraw':
      await execute(conversationId, {
        type: 'WithdrawInvitation',
        actorId,
        userId: parseInput(R.UserBody.shape.userId, userOf(r.other), 'path'),
      });
      return;
    case 'kick':
      await execute(conversationId, {
        type: 'KickMember',
        actorId,
        userId: parseInput(R.UserBody.shape.userId, member(r.other), 'path'),
      });
      return;
    case 'role': {
      const { role } = parseInput(R.RoleBody, wire({ role: r.role }));
      const userId = parseInput(R.UserBody.shape.userId, member(r.other), 'path');
      await execute(conversationId, { type: 'ChangeRole', actorId, userId, role });
      return;
    }
    case 'accept':
      await execute(conversationId, { type: 'AcceptInvitation', actorId });
      return;
    case 'leave':
      await execute(conversationId, { type: 'LeaveGroup', actorId });
      return;
    case 'dissolve':
      await execute(conversationId, { type: 'DissolveGroup', actorId });
      return;
    case 'createLink': {
      const token = randomBytes(32).toString('base64url');
      const linkId = createHash('sha256').update(token).digest('hex');
      await execute(conversationId, { type: 'CreateInvitationLink', actorId, linkHash: linkId });
      run.links.set(conversationId, [...(run.links.get(conversationId) ?? []), { token, linkId }]);
      return;
    }
    case 'join': {
      const link = pick(run.links.get(conversationId) ?? [], r.message);
      const { token } = parseInput(R.JoinBody, wire({ token: r.garbage ?? link?.token ?? 'none' }));
      const linkHash = createHash('sha256').update(token).digest('hex');
      await execute(conversationId, { type: 'JoinViaLink', actorId, linkHash });
      return;
    }
    case 'revokeLink': {
      const link = pick(run.links.get(conversationId) ?? [], r.message);
      const linkHash = parseInput(R.LinkId, r.garbage ?? link?.linkId ?? 'none', 'path');
      await execute(conversationId, { type: 'RevokeInvitationLink', actorId, linkHash });
      return;
    }
    case 'mute': {
      const b = parseInput(R.MuteBody, wire({ muted: r.muted, until: r.until }));
      await conversations.recordReceipt(
        conversationId,
        { type: 'ChangeMute', actorId, muted: b.muted, ...(b.until !== undefined ? { until: b.until } : {}) },
        context,
      );
      return;
    }
    case 'read':
    case 'delivered': {
      const { upToSeq } = parseInput(R.ReceiptBody, wire({ upToSeq: r.upToSeq }));
      await conversations.recordReceipt(
        conversationId,
        { type: r.kind === 'read' ? 'MarkRead' : 'MarkDelivered', actorId, upToSeq },
        context,
      );
      return;
    }
    case 'send': {
      const replyTo =
        r.replyTo === undefined
          ? undefined
          : 'raw' in r.replyTo
            ? r.replyTo.raw
            : pick(run.messages.get(conversationId) ?? [], r.replyTo.message);
      const b = parseInput(
        R.SendBody,
        wire({
          clientMessageId: r.clientMessageId,
          text: r.text,
          replyToMessageId: replyTo,
          mentions: r.mentions && { ...r.mentions, userIds: r.mentions.userIds?.map(userOf) },
          attachments: r.attachments,
        }),
      );
      await execute(conversationId, {
        type: 'SendMessage',
        actorId,
        messageId: randomUUID(),
        clientMessageId: b.clientMessageId,
        text: b.text,
        mentions: b.mentions,
        attachments: b.attachments,
        ...(b.replyToMessageId !== undefined ? { replyToMessageId: b.replyToMessageId } : {}),
        now: context.now,
      });
      return;
    }
    case 'edit': {
      const b = parseInput(
        R.EditBody,
        wire({ text: r.text, mentions: r.mentions && { ...r.mentions, userIds: r.mentions.userIds?.map(userOf) } }),
      );
      await execute(conversationId, {
        type: 'EditMessage',
        actorId,
        messageId,
        text: b.text,
        mentions: b.mentions,
        now: context.now,
      });
      return;
    }
    case 'delete':
      await execute(conversationId, { type: 'DeleteMessage', actorId, messageId });
      return;
    case 'silence': {
      const { durationSeconds } = parseInput(R.SilenceBody, wire({ durationSeconds: r.durationSeconds }));
      const userId = parseInput(R.UserBody.shape.userId, member(r.other), 'path');
      await execute(conversationId, { type: 'SilenceMember', actorId, userId, durationSeconds, now: context.now });
      return;
    }
    case 'unsilence':
    case 'ban':
    case 'unban': {
      // A ban names anyone (a member mostly); lifting names whom it lifts.
      const userId = parseInput(R.UserBody.shape.userId, r.kind === 'ban' ? member(r.other) : userOf(r.other), 'path');
      const type = r.kind === 'unsilence' ? 'UnsilenceMember' : r.kind === 'ban' ? 'BanMember' : 'UnbanMember';
      await execute(conversationId, { type, actorId, userId });
      return;
    }
    case 'pin':
    case 'unpin':
      await execute(conversationId, { type: r.kind === 'pin' ? 'PinMessage' : 'UnpinMessage', actorId, messageId });
      return;
    case 'react':
    case 'unreact':
      await execute(conversationId, {
        type: r.kind === 'react' ? 'AddReaction' : 'RemoveReaction',
        actorId,
        messageId,
        emoji: parseInput(R.Emoji, r.emoji, 'path'),
      });
      return;
    case 'register': {
      const b = parseInput(
        IDENTITY_REQUESTS.RegisterBody,
        wire({ username: r.username, password: 'password-1', displayName: r.displayName }),
      );
      const { userId } = await identity.register(b, context);
      users.push(userId);
      return;
    }
    case 'profile':
      await identity.updateProfile(
        actorId,
        parseInput(
          IDENTITY_REQUESTS.ProfileBody,
          wire({ displayName: r.displayName, avatarUrl: r.avatarUrl, statusText: r.statusText }),
        ),
        context,
      );
      return;
    case 'block':
    case 'unblock': {
      const other = parseInput(R.UserBody.shape.userId, userOf(r.other), 'path');
      await (r.kind === 'block' ? identity.block(actorId, other, context) : identity.unblock(actorId, other, context));
      return;
    }
    case 'Request':
    case 'Accept':
    case 'Decline':
    case 'Remove':
      await identity.contact(r.kind, actorId, parseInput(R.UserBody.shape.userId, userOf(r.other), 'path'), context);
      return;
    default: {
      const unhandled: never = r;
      return unhandled;
    }
  }
}

/** The answers the API gives as 4xx: a refusal, not a failure of the property. */
const refused = (error: unknown): boolean =>
  error instanceof RequestInvalid || error instanceof ConversationError || error instanceof IdentityError;

/** Every projection reaches the head of the log, and none parked an event. */
async function readModelsCaughtUp(): Promise<void> {
  const head = await store.headCheckpoint();
  const reached = await Promise.all(runners.map((runner) => runner.waitFor(head, 30_000)));
  const statuses = runners.map((runner) => runner.status());
  const parked = await db.query<{ projection: string; event_type: string; error: string }[]>(
    'SELECT projection, event_type, error FROM herald_projection_dead_letters',
  );
  expect(parked).toEqual([]);
  expect(statuses.filter((s) => s.state !== 'running' || s.parked)).toEqual([]);
  expect(reached).toEqual(runners.map(() => true));
}

describe('no input a user can send stops a read model', () => {
  it(
    `requests with boundary values through the API's schemas and the deciders, into every read model (seed ${SEED})`,
    async () => {
      if (LONG_RUN) console.log(`fuzz: ${RUNS} runs, seed ${SEED} (HERALD_FUZZ_SEED=${SEED} repeats it)`);
      await fc.assert(
        fc.asyncProperty(fc.array(request, PER_RUN), async (requests) => {
          const run = await startRun();
          for (const r of requests) {
            generated++;
            try {
              await perform(r, run);
              accepted.set(r.kind, (accepted.get(r.kind) ?? 0) + 1);
            } catch (error) {
              if (!refused(error)) throw error;
            }
          }
          await readModelsCaughtUp();
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: !LONG_RUN },
      );
      const through = [...accepted.values()].reduce((a, b) => a + b, 0);
      console.log(`fuzz: ${generated} requests, ${through} accepted: ${JSON.stringify(Object.fromEntries(accepted))}`);
      if (!LONG_RUN) {
        expect(generated).toBeGreaterThanOrEqual(CI_BUDGET);
        // Refusals must not crowd out the events: a quarter at least reach the read models.
        expect(through).toBeGreaterThanOrEqual(generated / 4);
      }
    },
    60_000 + RUNS * 5_000,
  );
});
