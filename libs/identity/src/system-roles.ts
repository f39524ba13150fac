/**
 * System roles (auditor, operator) over users' streams: granting and revoking (the herald
 * command line, and the initial operator of the configuration at start) and the check every
 * role-gated route makes. The check folds the user's stream (cached, caught up on each
 * use), never a read model: a revocation holds from the next request on every node. And
 * the record of every audit read.
 */
import { appendDecided, CommandPipeline, StateCache, type CommandContext } from '@herald/commands';
import type { EventStore } from '@herald/event-store';
import { streamIdOf, SYSTEM_ROLES, type SystemRole } from '@herald/events';
import { IdentityError } from './domain/errors.js';
import {
  evolveUser,
  grantConfiguredSystemRole,
  grantSystemRole,
  initialUser,
  revokeSystemRole,
  USERNAME,
  type User,
  type UserEvent,
} from './domain/user.js';
import { evolveClaim, unclaimed, type Claim, type UsernameEvent } from './domain/username.js';

export { SYSTEM_ROLES, type SystemRole };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isSystemRole(value: string): value is SystemRole {
  return (SYSTEM_ROLES as readonly string[]).includes(value);
}

export class SystemRoles {
  private readonly users: CommandPipeline<User, UserEvent>;
  private readonly usernames: CommandPipeline<Claim, UsernameEvent>;

  constructor(store: EventStore) {
    this.users = new CommandPipeline(
      store,
      { streamOf: (id) => streamIdOf('user', id), initialState: initialUser, evolve: evolveUser },
      { cache: new StateCache(10_000) },
    );
    this.usernames = new CommandPipeline(store, {
      streamOf: (name) => streamIdOf('username', name),
      initialState: () => unclaimed,
      evolve: evolveClaim,
    });
  }

  /** Whether the user holds the role now (false for anyone unknown). */
  async hasSystemRole(userId: string, role: SystemRole): Promise<boolean> {
    if (!UUID.test(userId)) return false;
    return (await this.users.load(userId)).state.systemRoles.has(role);
  }

  /** The roles a user holds now. */
  async rolesOf(userId: string): Promise<SystemRole[]> {
    return [...(await this.users.load(userId)).state.systemRoles].sort();
  }

  /** A registered user named by user name or id; USER.NOT_FOUND otherwise. */
  async resolve(userNameOrId: string): Promise<{ userId: string; username: string }> {
    const name = userNameOrId.toLowerCase();
    let userId: string | undefined = UUID.test(name) ? name : undefined;
    if (!userId && USERNAME.test(name)) userId = (await this.usernames.load(name)).state.holder ?? undefined;
    const state = userId ? (await this.users.load(userId)).state : undefined;
    if (!state?.registered || !state.username) {
      throw new IdentityError('USER.NOT_FOUND', `No user named ${JSON.stringify(userNameOrId.slice(0, 64))}`);
    }
    return { userId: state.userId, username: state.username };
  }

  /** Grants the role; false when the user held it already (nothing written). */
  async grant(userId: string, role: SystemRole, context: CommandContext): Promise<boolean> {
    const { appended } = await this.users.handle(
      userId,
      (state) => ({ events: grantSystemRole({ role, by: context.actorId }, state) }),
      context,
    );
    return appended !== null;
  }

  /**
   * The configuration's grant at start (HERALD_INITIAL_OPERATOR): `granted`, `held` (nothing
   * written), or `revoked` (nothing written: the role was revoked from them once, and a
   * revocation outlasts the configuration).
   */
  async grantConfigured(
    userId: string,
    role: SystemRole,
    context: CommandContext,
  ): Promise<'granted' | 'held' | 'revoked'> {
    const { appended, state } = await this.users.handle(
      userId,
      (current) => ({ events: grantConfiguredSystemRole({ role, by: context.actorId }, current) }),
      context,
    );
    if (appended !== null) return 'granted';
    return state.systemRoles.has(role) ? 'held' : 'revoked';
  }

  /** Revokes the role; false when the user did not hold it (nothing written). */
  async revoke(userId: string, role: SystemRole, context: CommandContext): Promise<boolean> {
    const { appended } = await this.users.handle(
      userId,
      (state) => ({ events: revokeSystemRole({ role, by: context.actorId }, state) }),
      context,
    );
    return appended !== null;
  }
}

/**
 * Records an audit read (AuditRead) in the auditor's audit stream: `audit-<userId>` for an
 * auditor of the API, `audit-cli` for the herald command line. Callers record before they
 * answer, so a read that could not be recorded is not answered.
 */
export async function recordAuditRead(
  store: EventStore,
  auditor: string,
  read: string,
  params: Record<string, string>,
  context: CommandContext,
): Promise<void> {
  const stream = streamIdOf('audit', auditor.startsWith('cli:') ? 'cli' : auditor);
  await appendDecided(store, stream, [{ type: 'AuditRead', data: { auditor, read, params } }], 'any', context);
}
