/**
 * `GET /audit/events/:ref/proof`: an auditor gets an event's inclusion proof once a seal
 * covers it (409 before), by event id or checkpoint; the offline verifier in examples/
 * accepts it and refuses it altered; everyone else meets the missing route.
 */
import { SystemRoles } from '@herald/identity';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { eventually } from '@herald/testing';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, testApp, type TestUser } from '../test-app.js';

const verifier = fileURLToPath(new URL('../../../../examples/verify-proof/verify-proof.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'herald-api-proof-'));

let app: NestFastifyApplication;
let auditor: TestUser;

beforeAll(async () => {
  // Sealed within a fraction of a second, so that the test need not wait 10 s.
  app = await testApp({ SEAL_INTERVAL_MS: '200' });
  auditor = await signUp(app, 'auditor');
  await app
    .get(SystemRoles)
    .grant(auditor.userId, 'auditor', { actorId: 'cli:test', correlationId: randomUUID(), now: new Date() });
});
afterAll(async () => {
  await app.close();
});

const get = (who: TestUser, url: string) =>
  app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${who.token}` } });

function verifyOffline(proof: unknown) {
  const file = join(dir, `${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify(proof));
  return spawnSync(process.execPath, [verifier, file], { encoding: 'utf8', timeout: 30_000 });
}

describe('GET /audit/events/:ref/proof', () => {
  it("withholds the proof of an event that holds a credential (a password's hash): 403 AUDIT.CREDENTIAL_WITHHELD once sealed", async () => {
    const ann = await signUp(app, 'ann');
    const events = (await get(auditor, `/audit/streams/user-${ann.userId}/events`)).json<{
      events: { eventId: string; type: string }[];
    }>().events;
    const { eventId } = events.find((e) => e.type === 'PasswordSet')!;
    let answer = await get(auditor, `/audit/events/${eventId}/proof`);
    await eventually(async () => {
      answer = await get(auditor, `/audit/events/${eventId}/proof`);
      return answer.statusCode !== 409;
    });
    expect(answer.statusCode, answer.body).toBe(403);
    expect(answer.json()).toMatchObject({ error: { code: 'AUDIT.CREDENTIAL_WITHHELD' } });
    expect(answer.body).not.toContain('argon2');
  });

  it("answers an auditor an event's proof by id and by checkpoint, which verifies offline and fails altered", async () => {
    const ann = await signUp(app, 'ann');
    const events = (await get(auditor, `/audit/streams/user-${ann.userId}/events`)).json<{
      events: { eventId: string; checkpoint: string }[];
    }>().events;
    const { eventId, checkpoint } = events[0]!;

    let answer = await get(auditor, `/audit/events/${eventId}/proof`);
    // Before the next seal: 409 AUDIT.NOT_SEALED_YET.
    await eventually(async () => {
      answer = await get(auditor, `/audit/events/${eventId}/proof`);
      if (answer.statusCode === 409) expect(answer.json()).toMatchObject({ error: { code: 'AUDIT.NOT_SEALED_YET' } });
      return answer.statusCode !== 409;
    });
    expect(answer.statusCode).toBe(200);
    const proof = answer.json<{ checkpoint: string; event: { eventId: string; data: string }; digest: string }>();
    expect(proof.event.eventId).toBe(eventId);
    expect(proof.checkpoint).toBe(checkpoint);
    expect((await get(auditor, `/audit/events/${checkpoint}/proof`)).json()).toEqual(proof);

    const verified = verifyOffline(proof);
    expect(verified.stderr).toBe('');
    expect(verified.status).toBe(0);
    const altered = verifyOffline({
      ...proof,
      event: { ...proof.event, data: proof.event.data.replace('ann', 'eve') },
    });
    expect(altered.status).not.toBe(0);
  });

  it('answers 404 for no such event, 400 for a ref that is neither an id nor a checkpoint, and a plain user the missing route', async () => {
    const unknown = await get(auditor, `/audit/events/${randomUUID()}/proof`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'AUDIT.EVENT_NOT_FOUND' } });
    const bad = await get(auditor, '/audit/events/nonsense/proof');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'REQUEST.INVALID' } });
    const user = await signUp(app, 'plain');
    const refused = await get(user, `/audit/events/${randomUUID()}/proof`);
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ error: { code: 'REQUEST.NOT_FOUND' } });
  });
});
