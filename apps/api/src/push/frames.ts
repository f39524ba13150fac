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
  z.strictObject({ type: z.literal('syncUser'), seq: ClaimedSeq }).meta({
    title: 'syncUser',
    description:
      'Follow your own channel: catch up on your read markers, delivery receipts and mutes from the seq after `seq` of your receipts stream (-1: from the start), then live; and from now on, notices of invitations, contact requests and your own sends.',
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
/** An event as frames carry it: the catalogue's type and payload, who caused it and when. */
const PushedEvent = z.strictObject({
  eventId: Id,
  type: z.string().meta({ description: 'An event type of the catalogue (events/asyncapi.json).' }),
  data: z.record(z.string(), z.unknown()),
  actorId: z.string(),
  occurredAt: z.iso.datetime({ offset: true }),
});

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
      event: PushedEvent,
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
  z.strictObject({ type: z.literal('userEvent'), seq: Seq, event: PushedEvent }).meta({
    title: 'userEvent',
    description:
      'An event of your receipts stream (ConversationRead, MessagesDelivered, ConversationMuteChanged), from any of your devices, in seq order with no gap and no duplicate.',
  }),
  z.strictObject({ type: z.literal('userSynced'), seq: z.number().int().min(-1) }).meta({
    title: 'userSynced',
    description: 'Your channel has caught up to `seq` of your receipts stream (-1: it is empty); live events follow.',
  }),
  z.strictObject({ type: z.literal('userResync'), seq: Seq, reason: z.string() }).meta({
    title: 'userResync',
    description:
      'Receipts up to `seq` will not be sent (more than 500 missed): read your counts and mutes over REST (GET /conversations).',
  }),
  z
    .strictObject({
      type: z.literal('notice'),
      conversationId: Id.optional().meta({ description: 'The conversation the event is of, when it is one.' }),
      seq: Seq.optional().meta({ description: "The event's seq in that conversation." }),
      event: PushedEvent,
    })
    .meta({
      title: 'notice',
      description:
        'Live, not caught up: an event about you from another stream (an invitation to you or its withdrawal, a conversation you were added to, a contact request either way and what became of it, a message you sent from another device in a conversation this socket has not synced). After a reconnect, read GET /me/invitations, /me/contact-requests and /conversations.',
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
