/**
 * A user name's stream (`username-<name>`): who claimed it, and when. A registration claims
 * its name first, so two users cannot hold one name (the claim's append is the arbiter).
 */
import type { EventIn } from '@herald/events';
import { IdentityError } from './errors.js';

export type UsernameEvent = EventIn<'username'>;

/** Who holds a user name, since when. */
export interface Claim {
  readonly holder: string | null;
  readonly at: string;
}

export const unclaimed: Claim = { holder: null, at: '' };

export const evolveClaim = (_: Claim, event: UsernameEvent, recorded: { readonly occurredAt: string }): Claim => ({
  holder: event.data.userId,
  at: recorded.occurredAt,
});

/** How long a claim waits for its user before another registration may take it over. */
export const CLAIM_GRACE_MS = 60_000;

export interface ClaimUsername {
  readonly username: string;
  readonly userId: string;
  readonly now: Date;
}

/** What deciding a claim needs that the name's stream does not say. */
export interface ClaimFacts {
  /** Whether the current holder's user came to be (asked only of a claim past its grace). */
  readonly holderRegistered: boolean;
}

/**
 * Whether the name's current claim is past its grace: only then does it matter whether its
 * user came to be (a younger claim's user may still be on its way).
 */
export const claimPastGrace = (state: Claim, now: Date): state is Claim & { readonly holder: string } =>
  state.holder !== null && now.getTime() - Date.parse(state.at) > CLAIM_GRACE_MS;

/**
 * Claims a user name: a free name, or one whose claim is past its grace and whose user
 * never came to be (the process died between the claim and the user's first append).
 */
export function claimUsername(command: ClaimUsername, state: Claim, facts: ClaimFacts): UsernameEvent[] {
  if (state.holder !== null && !(claimPastGrace(state, command.now) && !facts.holderRegistered)) {
    throw new IdentityError('USER.USERNAME_TAKEN', 'That user name is taken');
  }
  return [{ type: 'UsernameClaimed', data: { username: command.username, userId: command.userId } }];
}
