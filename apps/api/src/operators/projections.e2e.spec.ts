/**
 * `POST /projections/:name/resolve`: only operators (the system `operator` role, as the app
 * ships; a check that fails refuses); an operator's decision reaches the parked projection.
 */
import { freshDatabase, eventually } from '@herald/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@herald/nest';
import { SystemRoles } from '@herald/identity';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkMembership, signUp, testApp, type TestUser } from '../test-app.js';
import { apiOf } from '../test-client.js';
import { ProjectionsService } from '../projections.service.js';

let app: NestFastifyApplication;
let closed: NestFastifyApplication;
let operator: TestUser;
let user: TestUser;
const operators = new Set<string>();

beforeAll(async () => {
  app = await testApp({}, await freshDatabase(), new JsonLogger('fatal'), {
    operatorCheck: (userId) => Promise.resolve(operators.has(userId)),
  });
  // The app as it ships: the operator role read from the user's stream.
  closed = await testApp();
  [operator, user] = await Promise.all([signUp(app, 'operator'), signUp(app, 'user')]);
  operators.add(operator.userId);
});
afterAll(async () => {
  await closed?.close();
  await app?.close();
});

const resolve = (
  on: NestFastifyApplication,
  caller: TestUser | undefined,
  name: string,
  resolution: 'retry' | 'skip',
) =>
  apiOf(on, caller).POST('/projections/{name}/resolve', {
    params: { path: { name } },
    body: { resolution },
  });

const membershipState = async (): Promise<string | undefined> =>
  (await app.get(ProjectionsService).health()).find((p) => p.name === 'membership.v1')?.state;

describe('POST /projections/:name/resolve', () => {
  it('refuses anyone who is not an operator (403); as shipped, the operator role granted and revoked decides', async () => {
    const refused = await resolve(app, user, 'membership', 'skip');
    expect(refused.response.status).toBe(403);
    expect(refused.error).toMatchObject({ error: { code: 'OPERATOR.REQUIRED' } });
    const anonymous = await resolve(app, undefined, 'membership', 'skip');
    expect(anonymous.response.status).toBe(401);
    const someone = await signUp(closed, 'someone');
    const closedRefusal = await resolve(closed, someone, 'membership', 'skip');
    expect(closedRefusal.response.status).toBe(403);
    const roles = closed.get(SystemRoles);
    const context = () => ({ actorId: 'cli:test', correlationId: randomUUID(), now: new Date() });
    await roles.grant(someone.userId, 'operator', context());
    // Past the role check: nothing is parked there.
    const granted = await resolve(closed, someone, 'membership', 'skip');
    expect(granted.response.status).toBe(404);
    expect(granted.error).toMatchObject({ error: { code: 'PROJECTIONS.NOTHING_PARKED' } });
    await roles.revoke(someone.userId, 'operator', context());
    expect((await resolve(closed, someone, 'membership', 'skip')).response.status).toBe(403);
  });

  it('answers 404 for an unknown read model and for one with nothing parked', async () => {
    const unknown = await resolve(app, operator, 'nope', 'retry');
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({ error: { code: 'PROJECTIONS.NOT_FOUND' } });
    const nothing = await resolve(app, operator, 'timeline', 'retry');
    expect(nothing.response.status).toBe(404);
    expect(nothing.error).toMatchObject({
      error: { code: 'PROJECTIONS.NOTHING_PARKED', message: 'timeline.v1 has no parked event' },
    });
  });

  it("an operator's skip sets a parked projection going again", async () => {
    const group = await apiOf(app, user).POST('/conversations/groups', { body: { name: 'g', memberIds: [] } });
    await parkMembership(app, group.data!.conversationId, user.userId);
    await eventually(async () => (await membershipState()) === 'stopped');
    const skipped = await resolve(app, operator, 'membership.v1', 'skip');
    expect(skipped.response.status).toBe(200);
    expect(skipped.data).toMatchObject({
      name: 'membership.v1',
      eventType: 'ConversationMuteChanged',
      resolution: 'skip',
    });
    await eventually(async () => (await membershipState()) === 'running');
  });
});
