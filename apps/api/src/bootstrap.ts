/**
 * Builds the API application on Fastify. Shared by `main.ts` and the end-to-end tests so
 * both run exactly the same app.
 */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule, type AppOptions } from './app.module.js';
import { setUpOpenApi } from './openapi.js';

/** Request bodies above this are refused with 413 (README "Limits"). */
export const MAX_BODY_BYTES = 1024 * 1024;

export async function createApp(options: AppOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: MAX_BODY_BYTES, trustProxy: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: options.logger,
    abortOnError: false,
  });
  setUpOpenApi(app);
  await app.init();
  return app;
}
