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

/** A typed client's answer, as openapi-fetch gives it. */
export interface Answered<D, E = unknown> {
  readonly data?: D;
  readonly error?: E;
  readonly response: Response;
}

/** The body of an answer the test goes on from: any other answer fails the test there, saying what it was. */
export function dataOf<D>({ data, error, response }: Answered<D>): D {
  if (data === undefined) throw new Error(`answered ${response.status}: ${JSON.stringify(error)}`);
  return data;
}

/** The checkpoint a write answered, to read it with ?after= (a write that wrote nothing fails the test). */
export function checkpointOf(answer: Answered<{ checkpoint: string | null }>): string {
  const { checkpoint } = dataOf(answer);
  if (checkpoint === null) throw new Error(`answered ${answer.response.status}: no checkpoint, nothing was written`);
  return checkpoint;
}

/** Every page of a list, following `nextCursor` from the first page to the null one. */
export async function everyPage<P extends { nextCursor: string | null }>(
  page: (cursor: string | undefined) => Promise<Answered<P>>,
): Promise<P[]> {
  const pages: P[] = [];
  let cursor: string | null = null;
  do {
    const next: P = dataOf(await page(cursor ?? undefined));
    pages.push(next);
    cursor = next.nextCursor;
    // A cursor that never ends is a failure, not a hung test.
    if (pages.length > 1000) throw new Error('more than 1000 pages');
  } while (cursor !== null);
  return pages;
}
