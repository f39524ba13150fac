/**
 * `npm run openapi:generate`: writes the OpenAPI document the app serves to
 * apps/api/openapi.json (committed; openapi.e2e.spec.ts fails when it differs from what the
 * app serves), from which openapi-typescript then writes the typed client's schema.d.ts.
 * The app is built in preview: its routes and documents without a database.
 */
import 'reflect-metadata';
import { loadConfig } from '@herald/config';
import { JsonLogger } from '@herald/nest';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { writeFile } from 'node:fs/promises';
import { AppModule } from '../app.module.js';
import { buildOpenApiDocument } from '../openapi.js';

const [, , target = 'apps/api/openapi.json'] = process.argv;

const logger = new JsonLogger('fatal');
const app = await NestFactory.create<NestFastifyApplication>(
  AppModule.forRoot({ config: loadConfig({}), databaseUrl: 'postgres://preview', logger, jwtSecret: 'preview' }),
  new FastifyAdapter(),
  { preview: true, logger },
);
await writeFile(target, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
await app.close();
