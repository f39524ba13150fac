/**
 * The AsyncAPI 3 document of the WebSocket protocol, generated from its schemas (frames.ts),
 * beside the Kafka one (events/asyncapi.json). `npm run ws:generate` writes it to
 * WEBSOCKET_ASYNCAPI_PATH; a test fails when the committed file and the code disagree.
 */
import { Uuid } from '@herald/nest';
import { z } from 'zod';
import { ClaimedSeq, ClientFrame, ServerFrame, SyncConversations } from './frames.js';

/** Where the document is committed, from the repository root. */
export const WEBSOCKET_ASYNCAPI_PATH = 'apps/api/websocket.asyncapi.json';

type JsonSchema = Record<string, unknown>;

/**
 * Draft-07, as the Kafka document's schemas. A client frame's schema is what a client may
 * send (`input`), a server frame's what the server sends (`output`).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const generated: JsonSchema = z.toJSONSchema(schema, {
    target: 'draft-7',
    io,
    // Only a sync's conversations are unrepresentable: they are parsed into a Map (so that no
    // key is skipped), and on the wire they are an object from conversation id to seq.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema !== SyncConversations) return;
      for (const key of Object.keys(jsonSchema)) if (key !== 'description') delete jsonSchema[key as 'type'];
      Object.assign(jsonSchema, {
        type: 'object',
        propertyNames: withoutDialect(z.toJSONSchema(Uuid, { target: 'draft-7', io: 'input' })),
        additionalProperties: withoutDialect(z.toJSONSchema(ClaimedSeq, { target: 'draft-7', io: 'input' })),
      });
    },
  });
  return withoutDialect(generated);
}

function withoutDialect(schema: JsonSchema): JsonSchema {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

interface Frame {
  readonly key: string;
  readonly title: string;
  readonly description: string;
  readonly payload: JsonSchema;
}

function framesOf(union: typeof ClientFrame | typeof ServerFrame, side: 'client' | 'server'): Frame[] {
  return union.options.map((option: z.ZodObject) => {
    const type = (option.shape.type as z.ZodLiteral<string>).value;
    const meta = option.meta() ?? {};
    return {
      key: `${side}.${type}`,
      title: `${type} (${side === 'client' ? 'client → server' : 'server → client'})`,
      description: typeof meta.description === 'string' ? meta.description : '',
      payload: jsonSchema(option, side === 'client' ? 'input' : 'output'),
    };
  });
}

/** The AsyncAPI 3 document, from the server's side: it receives the client's frames and sends its own. */
export function webSocketAsyncApi(): JsonSchema {
  const client = framesOf(ClientFrame, 'client');
  const server = framesOf(ServerFrame, 'server');
  const messages: Record<string, JsonSchema> = {};
  const schemas: Record<string, JsonSchema> = {};
  for (const frame of [...client, ...server]) {
    schemas[frame.key] = frame.payload;
    messages[frame.key] = {
      name: frame.key,
      title: frame.title,
      summary: frame.description,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${frame.key}` },
    };
  }
  const ref = (frame: Frame): JsonSchema => ({ $ref: `#/channels/push/messages/${frame.key}` });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Herald WebSocket push',
      version: '1.0.0',
      description:
        'Push to chat clients over one WebSocket per client: `sync` catches a conversation up from the seq the client has, then sends its events live, in seq order with no gap and no duplicate; typing and presence are ephemeral signals. Frames are JSON text; a refused frame is answered with an `error` frame and the socket stays open. Close codes: 4001 session revoked, 4002 access token expired, 4008 too slow (reconnect and sync), 1009 frame too large. The README (WebSocket push) gives the limits and budgets.',
    },
    defaultContentType: 'application/json',
    servers: {
      api: {
        host: 'localhost:3000',
        protocol: 'ws',
        description: "The API's HTTP port (PORT); wss behind TLS.",
        security: [{ $ref: '#/components/securitySchemes/accessToken' }],
      },
    },
    channels: {
      push: {
        address: '/ws',
        title: 'Push',
        description:
          'One socket of a user, authenticated in the handshake with an access token (`Authorization: Bearer`, or `?access_token=` for browsers, whose Origin must be allowed). It lives as long as the token, unless the client sends a fresh one in an `auth` frame. A handshake is refused with an HTTP status, before any frame: 401 (no valid token), 403 (Origin not allowed), 429 with Retry-After (over the IP rate limit, or the user has 20 sockets open on the instance), 503 with Retry-After: 1 (the database failed, or the instance is taking in more handshakes than it lets wait, as in a reconnect storm: come back after it, with jitter).',
        messages: Object.fromEntries(
          [...client, ...server].map((frame) => [frame.key, { $ref: `#/components/messages/${frame.key}` }]),
        ),
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                access_token: { type: 'string', description: 'The access token, for clients that cannot set headers.' },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
    },
    operations: {
      receiveClientFrames: {
        action: 'receive',
        title: 'Client frames',
        summary: 'Handled one at a time, in the order sent; each counts in the user rate limit shared with REST.',
        channel: { $ref: '#/channels/push' },
        messages: client.map(ref),
      },
      sendServerFrames: {
        action: 'send',
        title: 'Server frames',
        summary: "Events, catch-up markers, typing, presence, and the answers to the client's frames.",
        channel: { $ref: '#/channels/push' },
        messages: server.map(ref),
      },
    },
    components: {
      messages,
      schemas,
      securitySchemes: {
        accessToken: {
          type: 'httpApiKey',
          name: 'Authorization',
          in: 'header',
          description: '`Bearer <access token>` (from POST /auth/sign-in or /auth/refresh).',
        },
      },
    },
  };
}

/** The document as committed. */
export const webSocketAsyncApiFile = (): string => `${JSON.stringify(webSocketAsyncApi(), null, 2)}\n`;
