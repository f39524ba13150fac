/**
 * The WebSocket protocol (`/ws`): every frame a client may send and every frame the server
 * sends, as zod schemas. Incoming frames are parsed with them; the end-to-end tests check
 * every outgoing frame against them; `websocket.asyncapi.json` is generated from them
 * (`npm run ws:generate`), and a test fails when the two disagree.
 */
import { Uuid } from '@herald/nest';
import { z } from 'zod';

/** Close codes of the server's own (the others are the WebSocket standard's: 1001, 1009). */
export const CLOSE = { sessionRevoked: 4001, tokenExpired: 4002, slowConsumer: 4008 } as const;

/** A conversation's last seq as a client may claim it: -1 (nothing yet) to the largest safe integer. */
export const ClaimedSeq = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);

/**
 * A sync's conversations, checked as the entries JSON.parse made: a record schema skips a
 * key such as "__proto__" silently, and every key must be an id. The count is checked
 * after, so that too many gets its own error.
 */
export const SyncConversations = z
  .preprocess((value) => (isPlainObject(value) ? new Map(Object.entries(value)) : value), z.map(Uuid, ClaimedSeq))
  .meta({ description: 'Conversation id → the last seq the client has (-1: none). At most 1,000.' });

export const ClientFrame = z.discriminatedUnion('type', [
  z
    .strictObject({ type: z.literal('sync'), conversations: SyncConversations })
    .meta({ title: 'sync', description: 'Catch up on these conversations from the seq after each one, then go live.' }),
  // A missing or empty token is a refused token (AUTH.INVALID_TOKEN, logged), not a bad frame.
  z.strictObject({ type: z.literal('auth'), accessToken: z.string().max(4096).optional() }).meta({
    title: 'auth',
    description: "A fresh access token of the socket's user: the socket lives until it expires.",
  }),
  z
    .strictObject({ type: z.literal('typing'), conversationId: Uuid })
    .meta({ title: 'typing', description: 'The client is typing in a conversation synced on this socket.' }),
  z.strictObject({ type: z.literal('presence'), userIds: z.array(Uuid) }).meta({
    title: 'presence',
    description: 'Watch these users (at most 200), replacing the last presence frame; `[]` stops.',
  }),
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame['type'];
/** Every type of frame a client may send, from the schema (the authorization matrix has an entry for each). */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = ClientFrame.options.map(
  (option) => option.shape.type.value,
);

/** The answer to a frame that is not one of ClientFrame. */
export const INVALID_FRAME_MESSAGE = `Send JSON: {"type":"${CLIENT_FRAME_TYPES.join('"|"')}",...}`;

/** A client frame as received, or undefined when it is none (binary, not JSON, not in the schema). */
export function parseClientFrame(bytes: Buffer, isBinary: boolean): ClientFrame | undefined {
  if (isBinary) return undefined;
  try {
    const parsed = ClientFrame.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const Id = z.uuid();
const Seq = z.number().int().min(0);

export const ERROR_CODES = [
  'PUSH.INVALID_FRAME',
  'PUSH.TOO_MANY',
  'PUSH.RATE_LIMITED',
  'PUSH.UNAVAILABLE',
  'AUTH.INVALID_TOKEN',
  'CONVERSATION.NOT_FOUND',
] as const;

export const PresenceUser = z.strictObject({
  userId: Id,
  online: z.boolean(),
  lastSeenAt: z.iso.datetime({ offset: true }).nullable().meta({
    description: "When the user's last socket closed; null while online, and for users never seen or not visible.",
  }),
});

export const ServerFrame = z.discriminatedUnion('type', [
  z
    .strictObject({
      type: z.literal('event'),
      conversationId: Id,
      seq: Seq,
      event: z.strictObject({
        eventId: Id,
        type: z.string().meta({ description: 'An event type of the catalogue (events/asyncapi.json).' }),
        data: z.record(z.string(), z.unknown()),
        actorId: z.string(),
        occurredAt: z.iso.datetime({ offset: true }),
      }),
    })
    .meta({ title: 'event', description: "A conversation's event, in seq order with no gap and no duplicate." }),
  z
    .strictObject({ type: z.literal('synced'), conversationId: Id, seq: Seq })
    .meta({ title: 'synced', description: 'The conversation has caught up to `seq`; live events follow.' }),
  z.strictObject({ type: z.literal('resync'), conversationId: Id, seq: Seq, reason: z.string() }).meta({
    title: 'resync',
    description: 'Events up to `seq` will not be sent (too many missed, or a gap): page them over REST.',
  }),
  z
    .strictObject({ type: z.literal('typing'), conversationId: Id, userId: Id })
    .meta({ title: 'typing', description: 'Another member is typing in the conversation.' }),
  z.strictObject({ type: z.literal('presence'), users: z.array(PresenceUser) }).meta({
    title: 'presence',
    description: 'The watched users now (the answer to a presence frame), then each change.',
  }),
  z
    .strictObject({ type: z.literal('authenticated'), expiresAt: z.iso.datetime() })
    .meta({ title: 'authenticated', description: 'An auth frame was accepted: the socket lives until `expiresAt`.' }),
  z
    .strictObject({
      type: z.literal('error'),
      code: z.enum(ERROR_CODES),
      message: z.string(),
      conversationId: Id.optional(),
      retryAfterSeconds: z.number().int().positive().optional(),
    })
    .meta({ title: 'error', description: 'A frame was refused; the socket stays open.' }),
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
