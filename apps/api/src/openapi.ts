/**
 * The OpenAPI document (Swagger UI at /docs, JSON at /docs/json): paths from the
 * controllers, request bodies and queries from the zod schemas that validate them, and
 * each operation's answers and security from the response contract (responses.ts).
 */
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { RESPONSE_SCHEMAS, RESPONSES } from './responses.js';

const COMPONENT = '#/components/schemas/';

/** `/conversations/:id` as OpenAPI writes it: `/conversations/{id}`. */
const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

export function buildOpenApiDocument(app: NestFastifyApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Herald API')
    .setDescription(
      'Event-sourced messaging. Errors: { "error": { "code", "message", "details"? } }. Commands answer with a checkpoint; pass it as ?after= to read your writes. Every answer carries x-request-id, the correlation id of the request: the trace id of a traceparent sent, else the x-request-id sent, else a new one. WebSocket push at /ws (see the README).',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  const { schemas } = z.toJSONSchema(RESPONSE_SCHEMAS, {
    target: 'openapi-3.0',
    io: 'output',
    uri: (id) => `${COMPONENT}${id}`,
  }) as { schemas: Record<string, Record<string, unknown>> };
  document.components = {
    ...document.components,
    schemas: {
      ...document.components?.schemas,
      // Each component as zod writes it less its `$id`: the document names it by its key.
      ...Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, ...schema }]) => [id, schema])),
    },
  };
  for (const [route, contract] of Object.entries(RESPONSES)) {
    const [method, path] = route.split(' ') as [string, string];
    const operation = document.paths[openApiPath(path)]?.[method.toLowerCase() as 'get'];
    if (!operation) throw new Error(`responses.ts names ${route}, which no controller serves`);
    operation.responses = Object.fromEntries(
      Object.entries(contract.responses).map(([status, schema]) => {
        const description = STATUS_CODES[status] ?? status;
        if (schema === null) return [status, { description }];
        const id = RESPONSE_SCHEMAS.get(schema)?.id;
        if (id === undefined) throw new Error(`${route} ${status}: answer with a schema named in responses.ts`);
        return [status, { description, content: { 'application/json': { schema: { $ref: `${COMPONENT}${id}` } } } }];
      }),
    );
    operation.security = contract.public ? [] : [{ bearer: [] }];
  }
  return document;
}

export function setUpOpenApi(app: NestFastifyApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs/json',
    yamlDocumentUrl: 'docs/yaml',
  });
}
