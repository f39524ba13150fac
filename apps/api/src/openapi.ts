/**
 * The OpenAPI document (Swagger UI at /docs, JSON at /docs/json): paths from the
 * controllers, request bodies from the same zod schemas that validate them.
 */
import { ApiBody, DocumentBuilder, SwaggerModule, type SchemaObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';

/** Documents a route's body with the zod schema that checks it. */
export const ApiInput = (schema: z.ZodType): MethodDecorator =>
  ApiBody({
    schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as SchemaObject,
  });

export function setUpOpenApi(app: NestFastifyApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Herald API')
    .setDescription(
      'Event-sourced messaging. Errors: { "error": { "code", "message", "details"? } }. Commands answer with a checkpoint; pass it as ?after= to read your writes. WebSocket push at /ws (see the README).',
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json', yamlDocumentUrl: 'docs/yaml' });
}
