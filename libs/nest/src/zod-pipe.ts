/**
 * Zod schemas at the edge as Nest pipes and parameter decorators: a route states once, on
 * the parameter, the schema its path parameter, query or body must meet, and that schema
 * both checks the request (parseInput: 400 REQUEST.INVALID naming path, query or body)
 * and documents it in the OpenAPI document.
 */
import { Body, Param, Query, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, type SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import { parseInput } from './validation.js';

/** Where a value came from, as the 400's message names it. */
const WHERE: Record<ArgumentMetadata['type'], string> = {
  param: 'path',
  query: 'query',
  body: 'body',
  custom: 'body',
};

/** Checks (and transforms) a route's argument with `schema`: `@Param('id', new ZodPipe(Uuid))`. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(readonly schema: S) {}

  transform(value: unknown, metadata: ArgumentMetadata): z.output<S> {
    return parseInput(this.schema, value, WHERE[metadata.type]);
  }
}

/** The JSON Schema (OpenAPI 3.0) of what a request may send for `schema`. */
export const inputSchema = (schema: z.ZodType): SchemaObject =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }) as SchemaObject;

/** Runs a method decorator from a parameter decorator: the method is defined by then. */
function onMethod(target: object, key: string | symbol | undefined, decorator: MethodDecorator): void {
  if (key === undefined) return;
  decorator(target, key, Object.getOwnPropertyDescriptor(target, key)!);
}

/** The path parameter `name`, checked by `schema` and documented with it. */
export const ZodParam =
  (name: string, schema: z.ZodType): ParameterDecorator =>
  (target, key, index) => {
    Param(name, new ZodPipe(schema))(target, key, index);
    onMethod(target, key, ApiParam({ name, required: true, schema: inputSchema(schema) }));
  };

/** The request body, checked by `schema` and documented with it. */
export const ZodBody =
  (schema: z.ZodType): ParameterDecorator =>
  (target, key, index) => {
    Body(new ZodPipe(schema))(target, key, index);
    onMethod(target, key, ApiInput(schema));
  };

/** The whole query, checked by the object `schema` (strict: unknown parameters are refused) and documented with it. */
export const ZodQuery =
  (schema: z.ZodObject): ParameterDecorator =>
  (target, key, index) => {
    Query(new ZodPipe(schema))(target, key, index);
    onMethod(target, key, ApiQueryInput(schema));
  };

/** Documents a route's body with the zod schema that checks it. */
export const ApiInput = (schema: z.ZodType): MethodDecorator => ApiBody({ schema: inputSchema(schema) });

/** Documents a route's query parameters with the zod object schema that checks them. */
export const ApiQueryInput = (schema: z.ZodObject): MethodDecorator => {
  const json = inputSchema(schema) as { properties?: Record<string, SchemaObject>; required?: string[] };
  const decorators = Object.entries(json.properties ?? {}).map(([name, property]) =>
    ApiQuery({
      name,
      required: json.required?.includes(name) ?? false,
      schema: property,
      ...(property.description !== undefined ? { description: property.description } : {}),
    }),
  );
  return (target, key, descriptor) => {
    for (const decorator of decorators) decorator(target, key, descriptor);
  };
};
