import { deciderSpecification } from '@herald/testing';
import { IdentityError } from './errors.js';
import { describe, expect, it } from 'vitest';
import {
  evolveSession,
  initialSession,
  refresh,
  REFRESH_REUSE_GRACE_SECONDS,
  signOut,
  signOutFrom,
  type Refresh,
  type SessionEvent,
} from './session.js';
import {
  decideContact,
  declineOnBlock,
  evolveContact,
  noContact,
  type ContactFacts,
  type ContactCommand,
  type ContactEvent,
} from './contact.js';
import {
  block,
  evolveUser,
  initialUser,
  register,
  signInAttempted,
  unblock,
  updateProfile,
  type UserEvent,
} from './user.js';

const U = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const S = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';
const h = (c: string): string => c.repeat(64);
const now = '2026-06-01T00:00:00.000Z';

/** A user's stream, for each of its deciders. */
const userSpec = <C>(decide: (command: C, state: ReturnType<typeof initialUser>) => UserEvent[]) =>
  deciderSpecification({ decide, evolve: evolveUser, initialState: () => initialUser(U) });

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
  describe('registering', () => {
    const { given } = userSpec(register);
    const ada = { userId: U, username: 'ada', displayName: 'Ada', passwordHash: HASH };

    it('a user registers with profile and password hash in one append', () => {
      given().when(ada).then(registered);
    });

    it('a registered user has a user name and a password hash', () => {
      expect(registered.reduce(evolveUser, initialUser(U))).toMatchObject({
        registered: true,
        username: 'ada',
        passwordHash: HASH,
      });
    });

    it('a user registers only once', () => {
      given(...registered)
        .when({ ...ada, displayName: 'A' })
        .thenThrows('USER.INVALID');
    });

    it('a user name with a space is refused', () => {
      given()
        .when({ ...ada, username: 'A d' })
        .thenThrows('USER.INVALID');
    });
  });

  describe('signing in', () => {
    it('a successful attempt records its session and address', () => {
      expect(signInAttempted({ userId: U, succeeded: true, sessionId: S, ip: '203.0.113.7' })).toEqual([
        { type: 'SignInAttempted', data: { userId: U, succeeded: true, sessionId: S, ip: '203.0.113.7' } },
      ]);
    });

    it('a failed attempt is recorded too, without a session', () => {
      expect(signInAttempted({ userId: U, succeeded: false, sessionId: undefined, ip: undefined })).toEqual([
        { type: 'SignInAttempted', data: { userId: U, succeeded: false } },
      ]);
    });
  });

  describe('profiles', () => {
    const { given } = userSpec(updateProfile);

    it('only the profile fields that change are written', () => {
      given(...registered)
        .when({ displayName: 'Ada', statusText: 'away' })
        .then([{ type: 'ProfileUpdated', data: { userId: U, statusText: 'away' } }]);
    });

    it('a change to nothing new decides nothing', () => {
      given(...registered)
        .when({ displayName: 'Ada' })
        .then([]);
    });

    it('a user who never registered has no profile to change', () => {
      given().when({ displayName: 'x' }).thenThrows('USER.NOT_FOUND');
    });
  });

  describe('refresh tokens', () => {
    /** Each event recorded at `now` (the rotation time the reuse grace counts from). */
    const { given } = deciderSpecification({
      decide: refresh,
      evolve: (state, event: SessionEvent) => evolveSession(state, event, { occurredAt: now }),
      initialState: () => initialSession(S),
    });
    const presenting = (hash: string, at = now): Refresh => ({
      presentedHash: hash,
      nextHash: h('c'),
      now: at,
      expiresAt: '2027-01-01T00:00:00.000Z',
    });
    const refused = (code: string, events: SessionEvent[] = []) => ({
      events,
      refused: expect.objectContaining({ code }) as IdentityError,
    });
    const justRotated = { ...rotated, data: { ...rotated.data, refreshTokenHash: h('c') } };
    const revokedForReuse: SessionEvent = {
      type: 'SessionRevoked',
      data: { sessionId: S, reason: 'refresh_token_reused' },
    };

    it('the current token rotates: it is good once and gives the next', () => {
      given(started)
        .when(presenting(h('a')))
        .then({
          events: [
            {
              type: 'SessionRefreshed',
              data: { sessionId: S, refreshTokenHash: h('c'), expiresAt: '2027-01-01T00:00:00.000Z' },
            },
          ],
        });
    });

    it('the same token again within the grace gets the same rotation again (two tabs, a lost answer), and writes nothing', () => {
      const at = new Date(Date.parse(now) + REFRESH_REUSE_GRACE_SECONDS * 1000).toISOString();
      given(started, justRotated)
        .when(presenting(h('a'), at))
        .then({ events: [] });
    });

    it('the same token again past the grace is a replay', () => {
      const late = new Date(Date.parse(now) + REFRESH_REUSE_GRACE_SECONDS * 1000 + 1).toISOString();
      given(started, justRotated)
        .when(presenting(h('a'), late))
        .then(refused('AUTH.REFRESH_TOKEN_REUSED', [revokedForReuse]));
    });

    it('the same token again once the new one was used in turn is a replay', () => {
      const again = { ...rotated, data: { ...rotated.data, refreshTokenHash: h('d') } };
      given(started, justRotated, again)
        .when(presenting(h('a')))
        .then(refused('AUTH.REFRESH_TOKEN_REUSED', [revokedForReuse]));
    });

    it('a replayed token revokes the whole session and is refused', () => {
      given(started, rotated)
        .when(presenting(h('a')))
        .then(refused('AUTH.REFRESH_TOKEN_REUSED', [revokedForReuse]));
    });

    it('after a replay, even the current token is refused', () => {
      given(started, rotated, revokedForReuse)
        .when(presenting(h('b')))
        .then(refused('AUTH.SESSION_REVOKED'));
    });

    it('an unknown token is refused', () => {
      given(started)
        .when(presenting(h('z')))
        .then(refused('AUTH.INVALID_TOKEN'));
    });

    it('an expired session refuses its token', () => {
      given(started)
        .when(presenting(h('a'), '2027-01-01T00:00:00.000Z'))
        .then(refused('AUTH.SESSION_EXPIRED'));
    });

    it('a session that does not exist refuses any token', () => {
      given()
        .when(presenting(h('a')))
        .then(refused('AUTH.INVALID_TOKEN'));
    });
  });

  describe('signing out', () => {
    const { given } = deciderSpecification({
      decide: (_: 'SignOut', state: ReturnType<typeof initialSession>) => signOut(state),
      evolve: (state, event: SessionEvent) => evolveSession(state, event),
      initialState: () => initialSession(S),
    });
    const signedOut: SessionEvent = { type: 'SessionRevoked', data: { sessionId: S, reason: 'signed_out' } };

    it('signing out revokes the session', () => {
      given(started).when('SignOut').then([signedOut]);
    });

    it('signing out of a revoked session decides nothing', () => {
      given(started, signedOut).when('SignOut').then([]);
    });
  });

  describe('signing a session out from another (DELETE /me/sessions/:id)', () => {
    const OTHER = '9e8d7c6b-5a49-4382-9171-605f4e3d2c1b';
    const { given } = deciderSpecification({
      decide: (command: { userId: string }, state: ReturnType<typeof initialSession>) =>
        signOutFrom(state, command.userId, OTHER),
      evolve: (state, event: SessionEvent) => evolveSession(state, event),
      initialState: () => initialSession(S),
    });

    it("the user's own session is revoked, naming the session that signed it out", () => {
      given(started)
        .when({ userId: U })
        .then([{ type: 'SessionRevoked', data: { sessionId: S, reason: 'signed_out', bySessionId: OTHER } }]);
    });

    it("another user's session, and one that never started, are not found alike", () => {
      given(started).when({ userId: OTHER }).thenThrows('SESSION.NOT_FOUND');
      given().when({ userId: U }).thenThrows('SESSION.NOT_FOUND');
    });

    it('a session that ended already is left as it is', () => {
      given(started, { type: 'SessionRevoked', data: { sessionId: S, reason: 'signed_out' } })
        .when({ userId: U })
        .then([]);
    });
  });
});

describe('contacts', () => {
  const [A, B] = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'];
  const noBlocks: ContactFacts = { otherExists: true, byOther: false, byActor: false };
  const { given } = deciderSpecification({
    decide: (command: ContactCommand, state: typeof noContact, facts: ContactFacts = noBlocks) =>
      decideContact(command, state, facts),
    evolve: (state, event: ContactEvent) => evolveContact(state, event),
    initialState: () => noContact,
  });
  const written = (events: ContactEvent[]) => ({ events, withheld: false });
  /** Answered as these events, none written. */
  const withheld = (events: ContactEvent[]) => ({ events, withheld: true });
  const requested: ContactEvent = { type: 'ContactRequested', data: { requesterId: A, recipientId: B } };
  const accepted: ContactEvent = { type: 'ContactRequestAccepted', data: { requesterId: A, recipientId: B } };
  const ask = (actorId: string, otherId: string): ContactCommand => ({ type: 'Request', actorId, otherId });
  const blockedByOther: ContactFacts = { ...noBlocks, byOther: true };
  const blockedByActor: ContactFacts = { ...noBlocks, byActor: true };

  it('a user asks another to be a contact', () => {
    given()
      .when(ask(A, B))
      .then(written([requested]));
  });

  it('asking again decides nothing', () => {
    given(requested).when(ask(A, B)).then(written([]));
  });

  it('asking back is accepting', () => {
    given(requested)
      .when(ask(B, A))
      .then(written([accepted]));
  });

  it('the one asked accepts', () => {
    given(requested)
      .when({ type: 'Accept', actorId: B, otherId: A })
      .then(written([accepted]));
  });

  it('the one who asked cannot accept', () => {
    given(requested).when({ type: 'Accept', actorId: A, otherId: B }).thenThrows('USER.NOT_FOUND');
  });

  it('there is nothing to accept without a request', () => {
    given().when({ type: 'Accept', actorId: B, otherId: A }).thenThrows('USER.NOT_FOUND');
  });

  it('asking a contact decides nothing', () => {
    given(requested, accepted).when(ask(A, B)).then(written([]));
  });

  it('the one asked declines', () => {
    given(requested)
      .when({ type: 'Decline', actorId: B, otherId: A })
      .then(written([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: B } }]));
  });

  it('the one who asked withdraws by declining', () => {
    given(requested)
      .when({ type: 'Decline', actorId: A, otherId: B })
      .then(written([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: A } }]));
  });

  it('there is nothing to decline without a request', () => {
    given().when({ type: 'Decline', actorId: B, otherId: A }).thenThrows('USER.NOT_FOUND');
  });

  it('either contact removes the other', () => {
    given(requested, accepted)
      .when({ type: 'Remove', actorId: B, otherId: A })
      .then(written([{ type: 'ContactRemoved', data: { userId: B, contactId: A } }]));
  });

  it('removing who is no contact decides nothing', () => {
    given(requested).when({ type: 'Remove', actorId: B, otherId: A }).then(written([]));
  });

  it('asking someone who blocked you is answered as done, and withheld', () => {
    given()
      .when(ask(A, B), blockedByOther)
      .then(withheld([requested]));
  });

  it('asking back someone who blocked you is answered as accepted, and withheld', () => {
    given(requested)
      .when(ask(B, A), blockedByOther)
      .then(withheld([accepted]));
  });

  it('accepting someone who blocked you is answered as done, and withheld', () => {
    given(requested)
      .when({ type: 'Accept', actorId: B, otherId: A }, blockedByOther)
      .then(withheld([accepted]));
  });

  it('nothing to write is nothing withheld', () => {
    given(requested, accepted).when(ask(A, B), blockedByOther).then(written([]));
  });

  it('who was blocked gets the same errors as anyone', () => {
    given().when({ type: 'Accept', actorId: B, otherId: A }, blockedByOther).thenThrows('USER.NOT_FOUND');
  });

  it('declining someone who blocked you goes through: it only ends a relation', () => {
    given(requested)
      .when({ type: 'Decline', actorId: B, otherId: A }, blockedByOther)
      .then(written([{ type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: B } }]));
  });

  it('asking a user who never registered is refused', () => {
    given()
      .when(ask(A, B), { ...noBlocks, otherExists: false })
      .thenThrows('USER.NOT_FOUND');
  });

  it('removing a user who never registered is refused', () => {
    given()
      .when({ type: 'Remove', actorId: A, otherId: B }, { ...noBlocks, otherExists: false })
      .thenThrows('USER.NOT_FOUND');
  });

  it('nobody asks themselves', () => {
    given().when(ask(A, A)).thenThrows('USER.INVALID');
  });

  it('the one who blocked unblocks before asking', () => {
    given().when(ask(A, B), blockedByActor).thenThrows('USER.INVALID');
  });

  it('the one who blocked unblocks before accepting', () => {
    given(requested).when({ type: 'Accept', actorId: B, otherId: A }, blockedByActor).thenThrows('USER.INVALID');
  });

  it('the one who blocked may still remove a contact', () => {
    given(requested, accepted)
      .when({ type: 'Remove', actorId: B, otherId: A }, blockedByActor)
      .then(written([{ type: 'ContactRemoved', data: { userId: B, contactId: A } }]));
  });
});

describe('blocks', () => {
  const OTHER = 'cccccccc-0000-4000-8000-000000000003';
  const blocked: UserEvent = { type: 'UserBlocked', data: { userId: U, blockedUserId: OTHER } };
  const blocking = userSpec(block);
  const unblocking = userSpec(unblock);
  /** The other user, who registered (looked up before deciding). */
  const other = { blockedUserId: OTHER, blockedExists: true };
  const stranger = { blockedUserId: OTHER, blockedExists: false };

  it('a user blocks another', () => {
    blocking
      .given(...registered)
      .when(other)
      .then([blocked]);
  });

  it('blocking again decides nothing', () => {
    blocking
      .given(...registered, blocked)
      .when(other)
      .then([]);
  });

  it('nobody blocks themselves', () => {
    blocking
      .given(...registered)
      .when({ blockedUserId: U, blockedExists: true })
      .thenThrows('USER.INVALID');
  });

  it('only a registered user blocks', () => {
    blocking.given().when(other).thenThrows('USER.NOT_FOUND');
  });

  it('blocking a user who never registered is refused', () => {
    blocking
      .given(...registered)
      .when(stranger)
      .thenThrows('USER.NOT_FOUND');
  });

  it('unblocking a user who never registered is refused', () => {
    unblocking
      .given(...registered)
      .when(stranger)
      .thenThrows('USER.NOT_FOUND');
  });

  it('a user unblocks whom they blocked', () => {
    unblocking
      .given(...registered, blocked)
      .when(other)
      .then([{ type: 'UserUnblocked', data: { userId: U, blockedUserId: OTHER } }]);
  });

  it('unblocking who is not blocked decides nothing', () => {
    unblocking
      .given(...registered)
      .when(other)
      .then([]);
  });

  describe('a block declines a pending request', () => {
    const [A, B] = ['aaaaaaaa-0000-4000-8000-000000000001', 'bbbbbbbb-0000-4000-8000-000000000002'];
    const requested: ContactEvent = { type: 'ContactRequested', data: { requesterId: A, recipientId: B } };
    const accepted: ContactEvent = { type: 'ContactRequestAccepted', data: { requesterId: A, recipientId: B } };
    const decline = (state: typeof noContact) => declineOnBlock({ requesterId: A, blockerId: B }, state);

    it('a request from the one blocked, still pending, is declined by the one who blocked', () => {
      expect(decline(evolveContact(noContact, requested))).toEqual([
        { type: 'ContactRequestDeclined', data: { requesterId: A, recipientId: B, declinedBy: B } },
      ]);
    });

    it('nothing is declined when there is no pending request from the one blocked', () => {
      expect(decline(noContact)).toEqual([]);
      expect(decline(evolveContact(evolveContact(noContact, requested), accepted))).toEqual([]);
      const askedTheOtherWay: ContactEvent = { type: 'ContactRequested', data: { requesterId: B, recipientId: A } };
      expect(decline(evolveContact(noContact, askedTheOtherWay))).toEqual([]);
    });
  });
});
