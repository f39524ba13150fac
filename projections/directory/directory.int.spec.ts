/**
 * directory.v1, given-when-then against PostgreSQL: given users' and contacts' events,
 * when more are applied, then its queries answer so, again after the events are delivered twice.
 */
import { projectionSpec, type InStream } from '@herald/testing';
import { streamIdOf, type EventIn } from '@herald/events';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { directory } from './index.js';
import { blockedBy, blocksOf, contactsOf, relations, usersNamed } from './directory.queries.js';

const spec = projectionSpec([directory]);

const ofUser = (userId: string, event: EventIn<'user'>): InStream => ({ stream: streamIdOf('user', userId), event });
const ofPair = (a: string, b: string, event: EventIn<'contact'>): InStream => ({
  stream: streamIdOf('contact', [a, b].sort().join('-')),
  event,
});
const registered = (userId: string, username: string): InStream =>
  ofUser(userId, { type: 'UserRegistered', data: { userId, username, displayName: username } });

describe('directory.v1', () => {
  it('a registered user is found by their name with the profile they updated', async () => {
    const [cy, name] = [randomUUID(), `cy${randomUUID().slice(0, 8)}`];
    await spec
      .given(registered(cy, name))
      .when(ofUser(cy, { type: 'ProfileUpdated', data: { userId: cy, displayName: 'Cy', statusText: 'busy' } }))
      .then(async (db) => {
        expect(await usersNamed(db, name)).toEqual([
          { userId: cy, username: name, displayName: 'Cy', avatarUrl: null, statusText: 'busy' },
        ]);
        expect(await usersNamed(db, `${name}x`)).toEqual([]);
      });
  });

  it('a block lists the blocked user until they are unblocked', async () => {
    const [cy, bob, dave] = [randomUUID(), randomUUID(), randomUUID()];
    await spec
      .given(ofUser(cy, { type: 'UserBlocked', data: { userId: cy, blockedUserId: bob } }))
      .when(
        ofUser(cy, { type: 'UserBlocked', data: { userId: cy, blockedUserId: dave } }),
        ofUser(cy, { type: 'UserUnblocked', data: { userId: cy, blockedUserId: dave } }),
      )
      .then(async (db) => {
        expect(await blocksOf(db, cy, { limit: 10 })).toEqual({ blocks: [{ userId: bob }], nextCursor: null });
        expect(await blockedBy(db, cy, [bob, dave])).toEqual(new Set([bob]));
      });
  });

  it('an accepted request makes both contacts; a request removed leaves neither any row', async () => {
    const [owner, cy, dave] = [randomUUID(), randomUUID(), randomUUID()];
    await spec
      .given(ofPair(owner, cy, { type: 'ContactRequested', data: { requesterId: owner, recipientId: cy } }))
      .when(
        ofPair(owner, cy, { type: 'ContactRequestAccepted', data: { requesterId: owner, recipientId: cy } }),
        ofPair(owner, dave, { type: 'ContactRequested', data: { requesterId: dave, recipientId: owner } }),
        ofPair(owner, dave, { type: 'ContactRemoved', data: { userId: owner, contactId: dave } }),
      )
      .then(async (db) => {
        expect((await contactsOf(db, owner, { limit: 10 })).contacts).toEqual([{ userId: cy, status: 'contacts' }]);
        expect((await contactsOf(db, cy, { limit: 10 })).contacts).toEqual([{ userId: owner, status: 'contacts' }]);
        expect((await contactsOf(db, dave, { limit: 10 })).contacts).toEqual([]);
      });
  });

  it('a request pending reads as sent for one and received for the other', async () => {
    const [ann, bo] = [randomUUID(), randomUUID()];
    await spec
      .given()
      .when(ofPair(ann, bo, { type: 'ContactRequested', data: { requesterId: ann, recipientId: bo } }))
      .then(async (db) => {
        expect((await contactsOf(db, ann, { limit: 10 })).contacts).toEqual([{ userId: bo, status: 'request_sent' }]);
        expect((await contactsOf(db, bo, { limit: 10 })).contacts).toEqual([
          { userId: ann, status: 'request_received' },
        ]);
      });
  });

  it('relations between pairs tell contacts, and blocks whichever way they go', async () => {
    const [ann, bo, cy] = [randomUUID(), randomUUID(), randomUUID()];
    await spec
      .given(
        ofPair(ann, bo, { type: 'ContactRequested', data: { requesterId: ann, recipientId: bo } }),
        ofPair(ann, bo, { type: 'ContactRequestAccepted', data: { requesterId: ann, recipientId: bo } }),
      )
      .when(ofUser(cy, { type: 'UserBlocked', data: { userId: cy, blockedUserId: ann } }))
      .then(async (db) => {
        const found = await relations(db, [
          [ann, bo],
          [ann, cy],
        ]);
        expect(new Map(found.map((r) => [r.otherId, r]))).toEqual(
          new Map([
            [bo, { userId: ann, otherId: bo, contacts: true, blocked: false }],
            [cy, { userId: ann, otherId: cy, contacts: false, blocked: true }],
          ]),
        );
      });
  });
});
