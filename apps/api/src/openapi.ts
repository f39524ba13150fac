/**
 * The OpenAPI document (Swagger UI at /docs, JSON at /docs/json): paths from the
 * controllers, request bodies and queries from the same zod schemas that validate them.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiQuery, DocumentBuilder, SwaggerModule, type SchemaObject } from '@nestjs/swagger';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { z } from 'zod';

/** Documents a route's body with the zod schema that checks it. */
export const ApiInput = (schema: z.ZodType): MethodDecorator =>
  ApiBody({
    schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as SchemaObject,
  });

/** Documents a route's query parameters with the zod object schema that checks them. */
export const ApiQueryInput = (schema: z.ZodObject): MethodDecorator => {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as {
    properties?: Record<string, SchemaObject>;
    required?: string[];
  };
  return applyDecorators(
    ...Object.entries(json.properties ?? {}).map(([name, property]) =>
      ApiQuery({
        name,
        required: json.required?.includes(name) ?? false,
        schema: property,
        ...(property.description !== undefined ? { description: property.description } : {}),
      }),
    ),
  );
};

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
