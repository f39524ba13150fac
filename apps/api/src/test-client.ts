/**
 * What the end-to-end tests call: the typed client generated from the OpenAPI document
 * (openapi-fetch over client/schema.d.ts, written by `npm run openapi:generate`), its
 * requests answered in process by `app.inject` rather than over a port. A route, a
 * parameter, a body field or an answer's field that the document does not describe does
 * not compile, so the document cannot drift from what the tests exercise; and every answer
 * is still checked against responses.ts by the test app (test-app.ts).
 *
 * A test that sends what the document forbids on purpose (malformed JSON, a wrong type, an
 * unknown route) says so and uses `app.inject` itself.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './client/schema.js';

export type Api = Client<paths>;

/** The client as the holder of `who`'s token (none: anonymous). */
export function apiOf(app: NestFastifyApplication, who?: { readonly token: string }): Api {
  return createClient<paths>({
    baseUrl: 'http://herald.test',
    ...(who !== undefined ? { headers: { authorization: `Bearer ${who.token}` } } : {}),
    fetch: (request) => injected(app, request),
  });
}

/** `request` answered by the app in process, as a fetch Response. */
async function injected(app: NestFastifyApplication, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const payload = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
  const answer = await app.inject({
    method: request.method as 'GET',
    url: `${url.pathname}${url.search}`,
    headers: Object.fromEntries(request.headers),
    ...(payload !== undefined && payload.length > 0 ? { payload } : {}),
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, String(one));
  }
  const empty = answer.statusCode === 204 || answer.statusCode === 304;
  return new Response(empty ? null : answer.rawPayload, { status: answer.statusCode, headers });
}
