/**
 * `npm run ws:generate`: writes the WebSocket protocol's AsyncAPI document from the frame
 * schemas (apps/api/src/push/frames.ts), as `events:generate` does for the Kafka one.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WEBSOCKET_ASYNCAPI_PATH, webSocketAsyncApiFile } from '../src/push/asyncapi.js';

await writeFile(join(process.cwd(), WEBSOCKET_ASYNCAPI_PATH), webSocketAsyncApiFile());
console.log(`wrote ${WEBSOCKET_ASYNCAPI_PATH}`);
