import { describe, expect, it } from 'vitest';
import { IdentityError } from './errors.js';
import {
  evolveSession,
  initialSession,
  refresh,
  REFRESH_REUSE_GRACE_SECONDS,
  signOut,
  type SessionEvent,
} from './session.js';
import {
  decideContact,
  evolveContact,
  noContact,
  type ContactBlocks,
  type ContactCommand,
  type ContactEvent,
} from './contact.js';
import { block, evolveUser, initialUser, register, unblock, updateProfile, type UserEvent } from './user.js';

const U = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const S = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';
const h = (c: string): string => c.repeat(64);

const user = (...events: UserEvent[]) => events.reduce(evolveUser, initialUser(U));
/** Each event recorded at `at` (the rotation time the reuse grace counts from). */
const session = (...events: SessionEvent[]) => sessionAt(now, ...events);
const sessionAt = (at: string, ...events: SessionEvent[]) =>
  events.reduce((state, event) => evolveSession(state, event, { occurredAt: at }), initialSession(S));
const now = '2026-06-01T00:00:00.000Z';
const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    return error instanceof IdentityError ? error.code : 'other';
  }
};

const registered: UserEvent[] = [
  { type: 'UserRegistered', data: { userId: U, username: 'ada', displayName: 'Ada' } },
  { type: 'PasswordSet', data: { userId: U, passwordHash: HASH } },
];
const started: SessionEvent = {
  type: 'SessionStarted',
  data: { sessionId: S, userId: U, refreshTokenHash: h('a'), expiresAt: '2026-12-31T00:00:00.000Z' },
};
const rotated: SessionEvent = {
  type: 'SessionRefreshed',
  data: { sessionId: S, refreshTokenHash: h('b'), expiresAt: '2026-12-31T00:00:00.000Z' },
};

describe('identity', () => {
  it('registers a user with profile and password hash in one append, once', () => {
    expect(register({ userId: U, username: 'ada', displayName: 'Ada', passwordHash: HASH }, user())).toEqual(
      registered,
    );
    expect(user(...registered)).toMatchObject({ registered: true, username: 'ada', passwordHash: HASH });
    expect(
      codeOf(() => register({ userId: U, username: 'ada', displayName: 'A', passwordHash: HASH }, user(...registered))),
    ).toBe('USER.INVALID');
    expect(codeOf(() => register({ userId: U, username: 'A d', displayName: 'A', passwordHash: HASH }, user()))).toBe(
      'USER.INVALID',
    );
  });

  it('updates only the profile fields that change', () => {
    const ada = user(...registered);
    expect(updateProfile({ displayName: 'Ada', statusText: 'away' }, ada)).toEqual([
      { type: 'ProfileUpdated', data: { userId: U, statusText: 'away' } },
    ]);
    expect(updateProfile({ displayName: 'Ada' }, ada)).toEqual([]);
    expect(codeOf(() => updateProfile({ displayName: 'x' }, user()))).toBe('USER.NOT_FOUND');
  });

  describe('refresh tokens', () => {
    const presenting = (hash: string, at = now) => ({
      presentedHash: hash,
      nextHash: h('c'),
      now: at,
      expiresAt: '2027-01-01T00:00:00.000Z',
    });

    it('rotate: the current one is good once and gives the next', () => {
      expect(refresh(presenting(h('a')), session(started))).toEqual({
        events: [
          {
            type: 'SessionRefreshed',
            data: { sessionId: S, refreshTokenHash: h('c'), expiresAt: '2027-01-01T00:00:00.000Z' },
          },
        ],
      });
    });

    it('the same one again within the grace gets the same rotation again (two tabs, a lost answer), and writes nothing', () => {
      const justRotated = { ...rotated, data: { ...rotated.data, refreshTokenHash: h('c') } };
      const at = new Date(Date.parse(now) + REFRESH_REUSE_GRACE_SECONDS * 1000).toISOString();
      expect(refresh(presenting(h('a'), at), session(started, justRotated))).toEqual({ events: [] });
      // Past the grace, or once the new token was used in turn, it is a replay.
      const late = new Date(Date.parse(now) + REFRESH_REUSE_GRACE_SECONDS * 1000 + 1).toISOString();
      expect(refresh(presenting(h('a'), late), session(started, justRotated)).refused?.code).toBe(
        'AUTH.REFRESH_TOKEN_REUSED',
      );
      const again = { ...rotated, data: { ...rotated.data, refreshTokenHash: h('d') } };
      expect(refresh(presenting(h('a')), session(started, justRotated, again)).refused?.code).toBe(
        'AUTH.REFRESH_TOKEN_REUSED',
      );
    });

    it('a replayed one revokes the whole session', () => {
      const outcome = refresh(presenting(h('a')), session(started, rotated));
      expect(outcome.events).toEqual([
        { type: 'SessionRevoked', data: { sessionId: S, reason: 'refresh_token_reused' } },
      ]);
      expect(outcome.refused?.code).toBe('AUTH.REFRESH_TOKEN_REUSED');
      const after = session(started, rotated, outcome.events[0]!);
      expect(refresh(presenting(h('b')), after).refused?.code).toBe('AUTH.SESSION_REVOKED');
    });

    it('refuses unknown and expired tokens, and sessions that do not exist', () => {
      expect(refresh(presenting(h('z')), session(started)).refused?.code).toBe('AUTH.INVALID_TOKEN');
      expect(refresh(presenting(h('a'), '2027-01-01T00:00:00.000Z'), session(started)).refused?.code).toBe(
        'AUTH.SESSION_EXPIRED',
      );
      expect(refresh(presenting(h('a')), session()).refused?.code).toBe('AUTH.INVALID_TOKEN');
    });

    it('signing out revokes the session once', () => {
      expect(signOut(session(started))).toEqual([
        { type: 'SessionRevoked', data: { sessionId: S, reason: 'signed_out' } },
      ]);
      expect(
        signOut(session(started, { type: 'SessionRevoked', data: { sessionId: S, reason: 'signed_out' } })),
      ).toEqual([]);
    });
  });
});

describe('contacts', () => {
  const [A, B] = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'];
  /** given(events).when(command) → then events, or thenFails(code). */
  const given = (...history: ContactEvent[]) => {
    const state = history.reduce(evolveContact, noContact);
    return {
      when: (command: ContactCommand, blocks: ContactBlocks = { byOther: false, byActor: false }) => ({
        then: (expected: ContactEvent[]) =>
          expect(decideContact(command, state, blocks)).toEqual({ events: expected, withheld: false }),
        /** Answered as these events, none written. */
        thenWithheld: (expected: ContactEvent[]) =>
          expect(decideContact(command, state, blocks)).toEqual({ events: expected, withheld: true }),
        thenFails: (code: string) => expect(codeOf(() => decideContact(command, state, blocks))).toBe(code),
      }),
    };
  };
  const requested: ContactEvent = { type: 'ContactRequested', data: { requesterId: A, recipientId: B } };
  const accepted: ContactEvent = { type: 'ContactRequestAccepted', data: { requesterId: A, recipientId: B } };
  const ask = (actorId: string, otherId: string): ContactCommand => ({ type: 'Request', actorId, otherId });
  const blockedByOther: ContactBlocks = { byOther: true, byActor: false };
  const blockedByActor: ContactBlocks = { byOther: false, byActor: true };

  it('a request, once; asking back is accepting; only the one asked accepts', () => {
    given().when(ask(A, B)).then([requested]);
    given(requested).when(ask(A, B)).then([]);
    given(requested).when(ask(B, A)).then([accepted]);
    given(requested).when({ type: 'Accept', actorId: B, otherId: A }).then([accepted]);
    given(requested).when({ type: 'Accept', actorId: A, otherId: B }).thenFails('USER.NOT_FOUND');
    given().when({ type: 'Accept', actorId: B, otherId: A }).thenFails('USER.NOT_FOUND');
    given(requested, accepted).when(ask(A, B)).then([]);
  });

  it('declined by either side; removed by either contact; nothing to remove is nothing', () => {
    given(requested)
      .when({ type: 'Decline', actorId: B, otherId: A })
      .then([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: B } }]);
    given(requested)
      .when({ type: 'Decline', actorId: A, otherId: B })
      .then([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: A } }]);
    given().when({ type: 'Decline', actorId: B, otherId: A }).thenFails('USER.NOT_FOUND');
    given(requested, accepted)
      .when({ type: 'Remove', actorId: B, otherId: A })
      .then([{ type: 'ContactRemoved', data: { userId: B, contactId: A } }]);
    given(requested).when({ type: 'Remove', actorId: B, otherId: A }).then([]);
  });

  it('a block is not revealed: asking or accepting someone who blocked you is answered as done, and withheld', () => {
    given().when(ask(A, B), blockedByOther).thenWithheld([requested]);
    given(requested).when(ask(B, A), blockedByOther).thenWithheld([accepted]);
    given(requested).when({ type: 'Accept', actorId: B, otherId: A }, blockedByOther).thenWithheld([accepted]);
    // Nothing to write is nothing withheld; the same errors as anyone's.
    given(requested, accepted).when(ask(A, B), blockedByOther).then([]);
    given().when({ type: 'Accept', actorId: B, otherId: A }, blockedByOther).thenFails('USER.NOT_FOUND');
    // Ending a relation goes through.
    given(requested)
      .when({ type: 'Decline', actorId: B, otherId: A }, blockedByOther)
      .then([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: B } }]);
    given().when(ask(A, A)).thenFails('USER.INVALID');
  });

  it('the one who blocked unblocks before asking or accepting', () => {
    given().when(ask(A, B), blockedByActor).thenFails('USER.INVALID');
    given(requested).when({ type: 'Accept', actorId: B, otherId: A }, blockedByActor).thenFails('USER.INVALID');
    given(requested, accepted)
      .when({ type: 'Remove', actorId: B, otherId: A }, blockedByActor)
      .then([{ type: 'ContactRemoved', data: { userId: B, contactId: A } }]);
  });
});

describe('blocks', () => {
  const OTHER = 'cccccccc-0000-4000-8000-000000000003';
  it('block once, unblock once; nobody blocks themselves, and only a registered user blocks', () => {
    const blocked: UserEvent = { type: 'UserBlocked', data: { userId: U, blockedUserId: OTHER } };
    expect(block(OTHER, user(...registered))).toEqual([blocked]);
    expect(block(OTHER, user(...registered, blocked))).toEqual([]);
    expect(codeOf(() => block(U, user(...registered)))).toBe('USER.INVALID');
    expect(codeOf(() => block(OTHER, user()))).toBe('USER.NOT_FOUND');
    expect(unblock(OTHER, user(...registered, blocked))).toEqual([
      { type: 'UserUnblocked', data: { userId: U, blockedUserId: OTHER } },
    ]);
    expect(unblock(OTHER, user(...registered))).toEqual([]);
  });
});
