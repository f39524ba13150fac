/**
 * The response contract (responses.ts) against the app: it covers every route the router
 * serves, and it is what the OpenAPI document says each operation answers and needs.
 * (Every answer of every end-to-end test is checked against it by the test app.)
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_ROUTES, OPERATIONS_ROUTES, RESPONSES } from './responses.js';
import { breachOf, servedRoutes, testApp } from './test-app.js';
import { listen } from './test-socket.js';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
  security?: Record<string, string[]>[];
}

let app: NestFastifyApplication;
beforeAll(async () => {
  app = await testApp();
  // Listening: Swagger UI's files are registered once Fastify is ready.
  await listen(app);
});
afterAll(async () => {
  await app.close();
});

describe('the response contract', () => {
  it('has an entry for every served route, and none for a route that is gone', () => {
    expect(servedRoutes(app)).toEqual([...Object.keys(RESPONSES), ...DOCUMENT_ROUTES, ...OPERATIONS_ROUTES].sort());
  });

  it('is what the OpenAPI document says each operation answers, with bearer security except on public routes', async () => {
    // Not through the typed client: /docs/json serves the document and is not in it (DOCUMENT_ROUTES).
    const document = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, Operation>>;
      components: { schemas: Record<string, unknown> };
      security?: unknown;
    }>();
    expect(document.security).toBeUndefined();
    for (const [route, contract] of Object.entries(RESPONSES)) {
      const [method, path] = route.split(' ') as [string, string];
      const operation = document.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
      expect(Object.keys(operation?.responses ?? {}).sort(), route).toEqual(Object.keys(contract.responses).sort());
      expect(operation?.security, route).toEqual(contract.public ? [] : [{ bearer: [] }]);
      for (const answer of Object.values(operation?.responses ?? {})) {
        const ref = answer.content?.['application/json']?.schema.$ref;
        if (ref !== undefined) expect(document.components.schemas[ref.split('/').pop()!], ref).toBeDefined();
      }
    }
    expect(document.paths['/auth/sign-in']?.post?.responses['401']?.content?.['application/json']?.schema).toEqual({
      $ref: '#/components/schemas/Error',
    });
  });

  it('an answer outside it is a breach: an undeclared status, a body off its schema, a body where none is due', () => {
    const error = JSON.stringify({ error: { code: 'REQUEST.INVALID', message: 'no' } });
    expect(breachOf('GET /health', 418, error)).toMatch(/status not in the contract/);
    expect(breachOf('GET /me', 200, JSON.stringify({ userId: 'x' }))).toMatch(/userId/);
    expect(breachOf('GET /me', 401, JSON.stringify({ error: { code: 'NOPE', message: 'no' } }))).toMatch(/code/);
    expect(breachOf('POST /auth/sign-out', 204, '{}')).toBe('a body where none is due');
    expect(breachOf('POST /auth/sign-out', 204, '')).toBeUndefined();
    expect(breachOf('GET /me', 401, error)).toBeUndefined();
    expect(breachOf(undefined, 404, error)).toBeUndefined();
    expect(breachOf('GET /nowhere', 200, '{}')).toBe('the route has no contract in responses.ts');
  });
});
