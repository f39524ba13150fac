import { describe, expect, it } from 'vitest';
import { IdentityError } from './errors.js';
import { CLAIM_GRACE_MS, claimPastGrace, claimUsername, evolveClaim, unclaimed, type Claim } from './username.js';

const ADA = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const BOB = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const claimedAt = '2026-06-01T00:00:00.000Z';
const after = (ms: number): Date => new Date(Date.parse(claimedAt) + ms);
const heldByAda: Claim = evolveClaim(
  unclaimed,
  { type: 'UsernameClaimed', data: { username: 'ada', userId: ADA } },
  { occurredAt: claimedAt },
);
const bobClaims = (now: Date) => ({ username: 'ada', userId: BOB, now });
const claimed = [{ type: 'UsernameClaimed', data: { username: 'ada', userId: BOB } }];

describe('claiming a user name', () => {
  it('a free name is claimed by whoever asks', () => {
    expect(claimUsername(bobClaims(after(0)), unclaimed, { holderRegistered: true })).toEqual(claimed);
  });

  it('a claim records its holder and when', () => {
    expect(heldByAda).toEqual({ holder: ADA, at: claimedAt });
  });

  it('a name held by a registered user is taken, however old the claim', () => {
    expect(() => claimUsername(bobClaims(after(CLAIM_GRACE_MS * 10)), heldByAda, { holderRegistered: true })).toThrow(
      new IdentityError('USER.USERNAME_TAKEN', 'That user name is taken'),
    );
  });

  it('a claim within its grace is taken even if its user is not registered yet: it may be on its way', () => {
    expect(() => claimUsername(bobClaims(after(CLAIM_GRACE_MS)), heldByAda, { holderRegistered: false })).toThrow(
      IdentityError,
    );
  });

  it('a claim past its grace whose user never came to be is taken over', () => {
    expect(claimUsername(bobClaims(after(CLAIM_GRACE_MS + 1)), heldByAda, { holderRegistered: false })).toEqual(
      claimed,
    );
  });

  it('only a claim past its grace needs its holder looked up', () => {
    expect(claimPastGrace(unclaimed, after(CLAIM_GRACE_MS * 10))).toBe(false);
    expect(claimPastGrace(heldByAda, after(CLAIM_GRACE_MS))).toBe(false);
    expect(claimPastGrace(heldByAda, after(CLAIM_GRACE_MS + 1))).toBe(true);
  });
});
