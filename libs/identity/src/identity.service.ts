/**
 * Identity's command and query side over the event store: registering, signing in and
 * out, rotating refresh tokens, profiles, contacts and blocks, and checking access tokens.
 * Commands go through the command pipeline (libs/commands), one per kind of stream. No
 * framework: the API wraps it.
 */
import {
  appendDecided,
  CommandPipeline,
  pairId,
  StateCache,
  WithheldAnswers,
  type CommandContext,
} from '@herald/commands';
import type { Checkpoint, EventStore } from '@herald/event-store';
import { randomUUID } from 'node:crypto';
import { IdentityError } from './domain/errors.js';
import {
  evolveSession,
  initialSession,
  refresh,
  signOut,
  signOutFrom,
  type Session,
  type SessionEvent,
} from './domain/session.js';
import {
  decideContact,
  declineOnBlock,
  evolveContact,
  noContact,
  type ContactEvent,
  type ContactFacts,
  type ContactState,
} from './domain/contact.js';
import {
  claimPastGrace,
  claimUsername,
  evolveClaim,
  unclaimed,
  type Claim,
  type ClaimFacts,
  type UsernameEvent,
} from './domain/username.js';
import {
  block,
  evolveUser,
  initialUser,
  register,
  signInAttempted,
  unblock,
  updateProfile,
  USERNAME,
  type UpdateProfile,
  type User,
  type UserEvent,
} from './domain/user.js';
import { decoyHash, hashPassword, PASSWORD_MAX, PASSWORD_MIN, verifyPassword } from './passwords.js';
import { AccessTokens, hashToken, newRefreshToken, sessionOf, type AccessClaims } from './tokens.js';
import { streamIdOf } from '@herald/events';

export interface Tokens {
  readonly userId: string;
  readonly sessionId: string;
  readonly accessToken: string;
  readonly accessTokenExpiresIn: number;
  readonly refreshToken: string;
}

export interface Profile {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly avatarUrl: string | null;
  readonly statusText: string | null;
}

/** What a client says of itself at sign-in: shown in the user's list of sessions. */
export interface Device {
  /** The device as the user or the app names it ("Ada's phone"). */
  readonly deviceName?: string;
  /** The client app ("Herald for iOS 2.1"), else its User-Agent. */
  readonly client?: string;
}

/** Where a request comes from, for the sign-in record. */
export interface RequestContext {
  readonly correlationId: string;
  /** The request's W3C trace context, recorded in the events' metadata as given. */
  readonly traceparent?: string;
  readonly ip?: string;
  readonly now: Date;
}

/** The correlation a request's commands record: its id, and its traceparent when it came with one. */
const correlationOf = ({ correlationId, traceparent }: RequestContext) => ({
  correlationId,
  ...(traceparent !== undefined ? { traceparent } : {}),
});

/** Users whose folded streams stay cached (their streams grow with every sign-in). */
const CACHED_USERS = 10_000;

/**
 * How long a session's answer is reused. A revocation reaches every node's cache at once
 * through the log (`sessionEnded`); this bounds how long a node that cannot follow the log
 * keeps trusting a session, at the cost of one session read per user a minute. Each answer
 * lives between 3/4 and 5/4 of it at random: sessions first checked together (clients
 * reconnecting after a restart) are not all read again in the same moment.
 */
const SESSION_CHECK_TTL_MS = 60_000;

interface SessionCheck {
  readonly active: boolean;
  readonly expiresAt: string | null;
  /** When the answer is read again. */
  readonly until: number;
}

export class IdentityService {
  private readonly sessionChecks = new Map<string, SessionCheck>();
  /** Session reads in flight: requests of one session share one. */
  private readonly sessionReads = new Map<string, Promise<SessionCheck>>();
  /** Times every append here, so a withheld contact command (a block) is answered as fast as a write. */
  private readonly withheldAnswers: WithheldAnswers;
  /** Users' streams, cached and caught up on each use. */
  private readonly users: CommandPipeline<User, UserEvent>;
  private readonly sessions: CommandPipeline<Session, SessionEvent>;
  /** Contact relations, by the pair's id. */
  private readonly contacts: CommandPipeline<ContactState, ContactEvent>;
  /** User-name claims, by the name. */
  private readonly usernames: CommandPipeline<Claim, UsernameEvent>;

  constructor(
    private readonly store: EventStore,
    private readonly accessTokens: AccessTokens,
    private readonly refreshTtlSeconds: number,
    /** How new passwords are hashed: argon2id; a benchmark seeding thousands of users passes a precomputed hash. */
    private readonly hash: (password: string) => Promise<string> = hashPassword,
  ) {
    this.withheldAnswers = new WithheldAnswers(store);
    const appends = this.withheldAnswers;
    this.users = new CommandPipeline(
      store,
      { streamOf: (id) => streamIdOf('user', id), initialState: initialUser, evolve: evolveUser },
      { cache: new StateCache(CACHED_USERS), appends },
    );
    this.sessions = new CommandPipeline(
      store,
      { streamOf: (id) => streamIdOf('session', id), initialState: initialSession, evolve: evolveSession },
      { appends },
    );
    this.contacts = new CommandPipeline(
      store,
      { streamOf: (id) => streamIdOf('contact', id), initialState: () => noContact, evolve: evolveContact },
      { appends },
    );
    this.usernames = new CommandPipeline(
      store,
      { streamOf: (name) => streamIdOf('username', name), initialState: () => unclaimed, evolve: evolveClaim },
      { appends },
    );
  }

  async register(
    input: { username: string; password: string; displayName: string } & Device,
    request: RequestContext,
  ): Promise<Tokens> {
    const username = input.username.toLowerCase();
    if (!USERNAME.test(username)) {
      throw new IdentityError('USER.INVALID', 'A user name has 3 to 32 characters: a-z, 0-9, _ . -');
    }
    checkPassword(input.password);
    const userId = randomUUID();
    const context = { actorId: userId, ...correlationOf(request), now: request.now };
    const passwordHash = await this.hash(input.password);
    await this.claim(username, userId, context);
    await this.users.handle(
      userId,
      (state) => ({ events: register({ userId, username, displayName: input.displayName, passwordHash }, state) }),
      context,
    );
    return this.startSession(userId, context, sessionDetails(input, request));
  }

  async signIn(input: { username: string; password: string } & Device, request: RequestContext): Promise<Tokens> {
    const userId = await this.holderOf(input.username.toLowerCase());
    const user = userId ? (await this.users.load(userId)).state : undefined;
    if (!userId || !user?.registered || !user.passwordHash) {
      await verifyPassword(await decoyHash(), input.password);
      throw new IdentityError('AUTH.INVALID_CREDENTIALS', 'Wrong user name or password');
    }
    const ok = input.password.length <= PASSWORD_MAX && (await verifyPassword(user.passwordHash, input.password));
    const context = { actorId: userId, ...correlationOf(request), now: request.now };
    const sessionId = ok ? randomUUID() : undefined;
    // Not through the pipeline: the record depends on nothing in the stream but what was read
    // to check the password, so it is appended at any revision and concurrent sign-ins of
    // one user never conflict.
    const attempt = signInAttempted({ userId, succeeded: ok, sessionId, ip: request.ip });
    await appendDecided(this.store, streamIdOf('user', userId), attempt, 'any', context);
    if (!ok || !sessionId) throw new IdentityError('AUTH.INVALID_CREDENTIALS', 'Wrong user name or password');
    return this.startSession(userId, context, sessionDetails(input, request), sessionId);
  }

  async refresh(refreshToken: string, request: RequestContext): Promise<Tokens> {
    const sessionId = sessionOf(refreshToken);
    if (!sessionId) throw new IdentityError('AUTH.INVALID_TOKEN', 'Unknown refresh token');
    // Derived from the presented token: a refresh that lost a race with the same token
    // (retried below) finds its rotation done and answers the very same pair.
    const next = this.accessTokens.nextRefreshToken(refreshToken);
    const expiresAt = new Date(request.now.getTime() + this.refreshTtlSeconds * 1000).toISOString();
    const { state, decision } = await this.sessions.handle(
      sessionId,
      (state) =>
        refresh(
          {
            presentedHash: hashToken(refreshToken),
            nextHash: hashToken(next),
            now: request.now.toISOString(),
            expiresAt,
            ...(request.ip !== undefined ? { ip: request.ip.slice(0, 64) } : {}),
          },
          state,
        ),
      (state) => ({ actorId: state.userId ?? 'anonymous', ...correlationOf(request), now: request.now }),
    );
    if (decision.refused) {
      if (decision.events.some((e) => e.type === 'SessionRevoked')) this.sessionEnded(sessionId);
      throw decision.refused;
    }
    return this.tokens(state.userId!, sessionId, next, request.now);
  }

  async signOut(claims: AccessClaims, request: RequestContext): Promise<void> {
    const context = { actorId: claims.userId, ...correlationOf(request), now: request.now };
    await this.sessions.handle(claims.sessionId, (state) => ({ events: signOut(state) }), context);
    this.sessionEnded(claims.sessionId);
  }

  /**
   * Signs out another session of the caller's (or their own): its refresh token stops
   * working and its sockets close, as for a sign-out. Answers the checkpoint of the change
   * (null when it had ended already); SESSION.NOT_FOUND for a session that is not theirs.
   */
  async signOutSession(claims: AccessClaims, sessionId: string, request: RequestContext): Promise<Checkpoint | null> {
    const context = { actorId: claims.userId, ...correlationOf(request), now: request.now };
    const { appended } = await this.sessions.handle(
      sessionId,
      (state) => ({ events: signOutFrom(state, claims.userId, claims.sessionId) }),
      context,
    );
    this.sessionEnded(sessionId);
    return appended?.checkpoint ?? null;
  }

  /** The caller behind an access token, if its session is still active. */
  async authenticate(accessToken: string, now: Date): Promise<AccessClaims> {
    const claims = await this.accessTokens.verify(accessToken);
    if (!(await this.sessionActive(claims.sessionId, now))) {
      throw new IdentityError('AUTH.SESSION_REVOKED', 'This session has ended');
    }
    return claims;
  }

  async profile(userId: string): Promise<Profile> {
    const { state } = await this.users.load(userId);
    if (!state.registered) throw new IdentityError('USER.NOT_FOUND', 'No such user');
    return publicProfile(state);
  }

  async updateProfile(userId: string, changes: UpdateProfile, request: RequestContext): Promise<Profile> {
    const context = { actorId: userId, ...correlationOf(request), now: request.now };
    const { state } = await this.users.handle(userId, (state) => ({ events: updateProfile(changes, state) }), context);
    return publicProfile(state);
  }

  /**
   * Blocks a user; answers the checkpoint of the change (null when nothing changed). A
   * contact request from them still pending is declined with it (`declineBlockedRequest`).
   */
  async block(userId: string, blockedUserId: string, request: RequestContext): Promise<Checkpoint | null> {
    const blockedExists = await this.exists(blockedUserId);
    const blocked = await this.changeUser(userId, (state) => block({ blockedUserId, blockedExists }, state), request);
    // Also when the block was there already: a request that raced it may have come after.
    const declined = await this.declineBlockedRequest(blockedUserId, userId, request);
    return declined ?? blocked;
  }

  async unblock(userId: string, blockedUserId: string, request: RequestContext): Promise<Checkpoint | null> {
    const blockedExists = await this.exists(blockedUserId);
    return this.changeUser(userId, (state) => unblock({ blockedUserId, blockedExists }, state), request);
  }

  /** Whether a user of this id registered. */
  async exists(userId: string): Promise<boolean> {
    return (await this.users.load(userId)).state.registered;
  }

  /** Whether `blockerId` has blocked `blockedId`. */
  async hasBlocked(blockerId: string, blockedId: string): Promise<boolean> {
    return (await this.users.load(blockerId)).state.blocked.has(blockedId);
  }

  /** Contact requests and contacts, between the caller and another user. */
  async contact(
    type: 'Request' | 'Accept' | 'Decline' | 'Remove',
    actorId: string,
    otherId: string,
    request: RequestContext,
  ): Promise<{ status: ContactState['status']; checkpoint: Checkpoint | null }> {
    const otherExists = await this.exists(otherId);
    const context = { actorId, ...correlationOf(request), now: request.now };
    const { decision, appended } = await this.contacts.handle(
      pairId(actorId, otherId),
      (state, facts: ContactFacts) => {
        const { events, withheld } = decideContact({ type, actorId, otherId }, state, facts);
        const status = events.reduce(evolveContact, state).status;
        // Withheld (the other one blocked the caller): the answer of a write, nothing written.
        return { events: withheld ? [] : events, withheld, status };
      },
      context,
      // Looked up on every attempt, so a lost race re-reads them.
      async () => {
        const [byOther, byActor] = await Promise.all([
          this.hasBlocked(otherId, actorId),
          this.hasBlocked(actorId, otherId),
        ]);
        return { otherExists, byOther, byActor };
      },
    );
    const { status } = decision;
    if (decision.withheld) return { status, checkpoint: await this.withheldAnswers.checkpoint() };
    if (appended && status === 'requested' && (await this.hasBlocked(otherId, actorId))) {
      // A block of the caller landed between reading the blocks and writing the request
      // (they are on different streams): it is declined as the block declines it. The
      // caller is answered as a withheld request is.
      const declined = await this.declineBlockedRequest(actorId, otherId, request);
      return { status, checkpoint: declined ?? appended.checkpoint };
    }
    return { status, checkpoint: appended?.checkpoint ?? null };
  }

  // ---------------------------------------------------------------- internals

  /**
   * Declines, in the name of the one who blocked, a contact request from the one blocked
   * that is still pending; answers the decline's checkpoint (null when there was none).
   * The block and the request are on different streams, so each side looks at the other's
   * after writing its own: a block writes, then looks for a pending request; a request
   * writes, then looks for a block. Whichever writes last sees the other's write, so once
   * both have answered, no request from a blocked user is pending.
   */
  private async declineBlockedRequest(
    requesterId: string,
    blockerId: string,
    request: RequestContext,
  ): Promise<Checkpoint | null> {
    const context = { actorId: blockerId, ...correlationOf(request), now: request.now };
    const { appended } = await this.contacts.handle(
      pairId(requesterId, blockerId),
      (state) => ({ events: declineOnBlock({ requesterId, blockerId }, state) }),
      context,
    );
    return appended?.checkpoint ?? null;
  }

  private async changeUser(
    userId: string,
    decide: (state: User) => UserEvent[],
    request: RequestContext,
  ): Promise<Checkpoint | null> {
    const context = { actorId: userId, ...correlationOf(request), now: request.now };
    const { appended } = await this.users.handle(userId, (state) => ({ events: decide(state) }), context);
    return appended?.checkpoint ?? null;
  }

  /**
   * Claims a user name. A claim whose user never came to be (the process died between the
   * claim and the user's first append) is taken over once it is older than a minute; a
   * younger one may still be on its way.
   */
  private async claim(username: string, userId: string, context: CommandContext): Promise<void> {
    // A registration racing for the same name loses at the append; on the retry it finds
    // the winner's fresh claim and is told the name is taken.
    const command = { username, userId, now: context.now };
    await this.usernames.handle(
      username,
      (state, facts: ClaimFacts) => ({ events: claimUsername(command, state, facts) }),
      context,
      async (state) => ({
        holderRegistered: claimPastGrace(state, context.now) ? await this.exists(state.holder) : true,
      }),
    );
  }

  private async holderOf(username: string): Promise<string | undefined> {
    if (!USERNAME.test(username)) return undefined;
    return (await this.usernames.load(username)).state.holder ?? undefined;
  }

  private async startSession(
    userId: string,
    context: CommandContext,
    details: SessionDetails,
    sessionId = randomUUID(),
  ): Promise<Tokens> {
    const refreshToken = newRefreshToken(sessionId);
    const expiresAt = new Date(context.now.getTime() + this.refreshTtlSeconds * 1000).toISOString();
    const started: SessionEvent = {
      type: 'SessionStarted',
      data: { sessionId, userId, refreshTokenHash: hashToken(refreshToken), expiresAt, ...details },
    };
    await appendDecided(this.store, streamIdOf('session', sessionId), [started], 'no_stream', context);
    return this.tokens(userId, sessionId, refreshToken, context.now);
  }

  private async tokens(userId: string, sessionId: string, refreshToken: string, now: Date): Promise<Tokens> {
    return {
      userId,
      sessionId,
      accessToken: await this.accessTokens.issue({ userId, sessionId }, now),
      accessTokenExpiresIn: this.accessTokens.ttlSeconds,
      refreshToken,
    };
  }

  private async sessionActive(sessionId: string, now: Date): Promise<boolean> {
    let check = this.sessionChecks.get(sessionId);
    if (!check || now.getTime() >= check.until) check = await this.readSessionCheck(sessionId, now);
    return check.active && (check.expiresAt === null || now.toISOString() < check.expiresAt);
  }

  private readSessionCheck(sessionId: string, now: Date): Promise<SessionCheck> {
    let reading = this.sessionReads.get(sessionId);
    if (!reading) {
      reading = (async () => {
        const { state } = await this.sessions.load(sessionId);
        const check = {
          active: state.userId !== null && !state.revoked,
          expiresAt: state.expiresAt,
          until: now.getTime() + SESSION_CHECK_TTL_MS * (0.75 + Math.random() / 2),
        };
        // Revoked meanwhile (the log said so while this read was on its way): that stands.
        if (this.sessionChecks.get(sessionId)?.until === Number.MAX_SAFE_INTEGER)
          return this.sessionChecks.get(sessionId)!;
        if (this.sessionChecks.size > 100_000) this.sessionChecks.clear();
        this.sessionChecks.set(sessionId, check);
        return check;
      })().finally(() => this.sessionReads.delete(sessionId));
      this.sessionReads.set(sessionId, reading);
    }
    return reading;
  }

  /** A session was revoked (here or on another node, as the log tells): it stops authenticating now. */
  sessionEnded(sessionId: string): void {
    this.sessionChecks.set(sessionId, { active: false, expiresAt: null, until: Number.MAX_SAFE_INTEGER });
  }
}

type SessionDetails = Device & { readonly ip?: string };

/** What a session records of where it started: the device as given, the IP (at most as long as the event takes). */
function sessionDetails(device: Device, request: RequestContext): SessionDetails {
  return {
    ...(device.deviceName !== undefined ? { deviceName: device.deviceName } : {}),
    ...(device.client !== undefined ? { client: device.client } : {}),
    ...(request.ip !== undefined ? { ip: request.ip.slice(0, 64) } : {}),
  };
}

function checkPassword(password: string): void {
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new IdentityError('USER.INVALID', `A password has ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
}

const publicProfile = (user: User): Profile => ({
  userId: user.userId,
  username: user.username!,
  displayName: user.displayName!,
  avatarUrl: user.avatarUrl,
  statusText: user.statusText,
});
