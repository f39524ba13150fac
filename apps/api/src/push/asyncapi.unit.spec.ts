import { Parser } from '@asyncapi/parser';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WEBSOCKET_ASYNCAPI_PATH, webSocketAsyncApi, webSocketAsyncApiFile } from './asyncapi.js';
import { CLIENT_FRAME_TYPES, ClientFrame, ServerFrame } from './frames.js';

const root = join(import.meta.dirname, '../../../..');
const id = '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81';
const other = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';

/** Frames of each side, and whether the protocol has them. */
const CLIENT_SAMPLES: [frame: unknown, valid: boolean][] = [
  [{ type: 'sync', conversations: { [id]: 4, [other]: -1 } }, true],
  [{ type: 'sync', conversations: { [id]: -2 } }, false],
  [{ type: 'sync', conversations: { 'not-an-id': 1 } }, false],
  [{ type: 'auth', accessToken: 'a.b.c' }, true],
  [{ type: 'auth' }, true],
  [{ type: 'typing', conversationId: id }, true],
  [{ type: 'typing', conversationId: id, extra: 1 }, false],
  [{ type: 'presence', userIds: [id, other] }, true],
  [{ type: 'presence', userIds: ['x'] }, false],
  [{ type: 'subscribe' }, false],
];
const SERVER_SAMPLES: [frame: unknown, valid: boolean][] = [
  [
    {
      type: 'event',
      conversationId: id,
      seq: 3,
      event: {
        eventId: other,
        type: 'MessageSent',
        data: { text: 'hi' },
        actorId: other,
        occurredAt: '2026-01-01T00:00:00.000Z',
      },
    },
    true,
  ],
  [{ type: 'synced', conversationId: id, seq: 3 }, true],
  [{ type: 'resync', conversationId: id, seq: 600, reason: 'gap' }, true],
  [{ type: 'typing', conversationId: id, userId: other }, true],
  [{ type: 'presence', users: [{ userId: other, online: false, lastSeenAt: null }] }, true],
  [{ type: 'presence', users: [{ userId: other, online: false, lastSeenAt: '2026-01-01T00:00:00.000Z' }] }, true],
  [{ type: 'authenticated', expiresAt: '2026-01-01T00:15:00.000Z' }, true],
  [{ type: 'error', code: 'PUSH.RATE_LIMITED', message: 'slow down', retryAfterSeconds: 2 }, true],
  [{ type: 'error', code: 'CONVERSATION.NOT_FOUND', message: 'no', conversationId: id }, true],
  [{ type: 'error', code: 'PUSH.SOMETHING_ELSE', message: 'no' }, false],
  [{ type: 'synced', conversationId: id }, false],
];

describe('the WebSocket protocol AsyncAPI document', () => {
  it(`the committed ${WEBSOCKET_ASYNCAPI_PATH} matches the frame schemas (run \`npm run ws:generate\`)`, async () => {
    const committed = await readFile(join(root, WEBSOCKET_ASYNCAPI_PATH), 'utf8').catch(() => '(missing)');
    expect(committed, `${WEBSOCKET_ASYNCAPI_PATH} is stale: run npm run ws:generate`).toBe(webSocketAsyncApiFile());
  });

  it('is a valid AsyncAPI 3 document with a message for every frame of either side', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(webSocketAsyncApi()));
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // 0: error; 1: warning
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(
      document
        ?.channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['/ws']);
    const names = document
      ?.messages()
      .all()
      .map((m) => m.name());
    expect(names).toEqual([
      ...CLIENT_FRAME_TYPES.map((type) => `client.${type}`),
      ...ServerFrame.options.map((option) => `server.${option.shape.type.value}`),
    ]);
  });

  it('its schemas accept and refuse the same frames as the zod schemas', () => {
    const ajv = new Ajv({ strict: false });
    addFormats.default(ajv);
    const schemas = (webSocketAsyncApi().components as { schemas: Record<string, object> }).schemas;
    const documented = (side: 'client' | 'server', frame: unknown): boolean => {
      const type = (frame as { type: string }).type;
      const schema = schemas[`${side}.${type}`];
      return schema !== undefined && ajv.validate(schema, frame);
    };
    for (const [frame, valid] of CLIENT_SAMPLES) {
      expect(ClientFrame.safeParse(frame).success, JSON.stringify(frame)).toBe(valid);
      expect(documented('client', frame), JSON.stringify(frame)).toBe(valid);
    }
    for (const [frame, valid] of SERVER_SAMPLES) {
      expect(ServerFrame.safeParse(frame).success, JSON.stringify(frame)).toBe(valid);
      expect(documented('server', frame), JSON.stringify(frame)).toBe(valid);
    }
  });
});
