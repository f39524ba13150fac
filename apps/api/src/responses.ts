/**
 * The response contract: for every route the router serves, who may call it and, per
 * status, the zod schema of what it answers (errors included, in the one error body).
 * It feeds the OpenAPI document (openapi.ts: responses and per-operation security) and,
 * in the end-to-end tests, checks every answer the test app serves (test-app.ts), so the
 * document is what Herald answers. A route the router serves without an entry here fails
 * responses.e2e.spec.ts.
 */
import { ErrorBodySchema } from '@herald/nest';
import { z } from 'zod';

/** The named schemas, each a component of the OpenAPI document. */
export const RESPONSE_SCHEMAS = z.registry<{ id: string }>();

function named<S extends z.ZodType>(id: string, schema: S): S {
  RESPONSE_SCHEMAS.add(schema, { id });
  return schema;
}

named('Error', ErrorBodySchema);

// Ids are UUIDs in any version or variant (a direct conversation's id is derived, not random).
const Id = z.guid();
const Time = z.iso.datetime({ offset: true });
const Checkpoint = z
  .string()
  .nullable()
  .describe('Pass as ?after= (or x-herald-after) to a query to read this write; null when nothing was written');
const Role = z.enum(['owner', 'admin', 'member']);

const Tokens = named(
  'Tokens',
  z.strictObject({
    userId: Id,
    sessionId: Id,
    accessToken: z.string(),
    accessTokenExpiresIn: z.number().int().describe('Seconds'),
    refreshToken: z.string(),
  }),
);
const Profile = named(
  'Profile',
  z.strictObject({
    userId: Id,
    username: z.string(),
    displayName: z.string(),
    avatarUrl: z.string().nullable(),
    statusText: z.string().nullable(),
  }),
);
const Users = named('Users', z.strictObject({ users: z.array(Profile) }));
const Contacts = named(
  'Contacts',
  z.strictObject({
    contacts: z.array(z.strictObject({ userId: Id, status: z.enum(['contacts', 'request_sent', 'request_received']) })),
    nextCursor: z.string().nullable(),
  }),
);
const Blocks = named(
  'Blocks',
  z.strictObject({ blocks: z.array(z.strictObject({ userId: Id })), nextCursor: z.string().nullable() }),
);
const ContactAnswer = named(
  'ContactAnswer',
  z.strictObject({ status: z.enum(['none', 'requested', 'contacts']), checkpoint: Checkpoint }),
);
const BlockAnswer = named('BlockAnswer', z.strictObject({ checkpoint: Checkpoint }));
const Invitations = named(
  'Invitations',
  z.strictObject({
    invitations: z.array(
      z.strictObject({
        conversationId: Id,
        name: z.string().nullable().describe("The group's name (null while the group is not read yet)"),
        invitedBy: Id,
        invitedAt: Time,
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
);
const ContactRequests = named(
  'ContactRequests',
  z.strictObject({
    requests: z.array(z.strictObject({ userId: Id, direction: z.enum(['received', 'sent']) })),
    nextCursor: z.string().nullable(),
  }),
);
const Sessions = named(
  'Sessions',
  z.strictObject({
    sessions: z.array(
      z.strictObject({
        sessionId: Id,
        deviceName: z.string().nullable(),
        client: z.string().nullable(),
        ip: z.string().nullable().describe('Where it signed in, or last refreshed its tokens'),
        createdAt: Time,
        lastSeenAt: Time.describe('Its last sign-in or token refresh'),
        current: z.boolean().describe('The session asking'),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
);
const SessionSignedOut = named('SessionSignedOut', z.strictObject({ sessionId: Id, checkpoint: Checkpoint }));

const CommandAnswerShape = { conversationId: Id, seq: z.number().int(), checkpoint: Checkpoint };
const CommandAnswer = named('CommandAnswer', z.strictObject(CommandAnswerShape));
const SendAnswer = named('SendAnswer', z.strictObject({ ...CommandAnswerShape, messageId: Id }));
const LinkAnswer = named(
  'LinkAnswer',
  z.strictObject({
    ...CommandAnswerShape,
    linkId: z.string().regex(/^[0-9a-f]{64}$/),
    token: z.string().describe('The invitation token: in this answer only'),
  }),
);
const MuteAnswer = named(
  'MuteAnswer',
  z.strictObject({ conversationId: Id, muted: z.boolean(), until: Time.nullable(), checkpoint: Checkpoint }),
);
const ReceiptAnswer = named(
  'ReceiptAnswer',
  z.strictObject({ conversationId: Id, upToSeq: z.number().int(), checkpoint: Checkpoint }),
);

const Inbox = named(
  'Inbox',
  z.strictObject({
    conversations: z.array(
      named(
        'ConversationSummary',
        z.strictObject({
          conversationId: Id,
          kind: z.enum(['direct', 'group']),
          name: z.string().nullable(),
          role: Role,
          muted: z.boolean(),
          dissolved: z.boolean(),
          lastSeq: z.number().int(),
          messageCount: z.number().int(),
          lastActivityAt: Time,
          lastMessage: z
            .strictObject({
              messageId: Id,
              senderId: Id,
              preview: z.string(),
              deleted: z.boolean(),
              attachmentCount: z.number().int(),
            })
            .nullable(),
          unreadCount: z.number().int(),
          mentionCount: z.number().int(),
          readSeq: z.number().int(),
        }),
      ),
    ),
    nextCursor: z.string().nullable(),
  }),
);
const Conversation = named(
  'Conversation',
  z.strictObject({
    conversationId: Id,
    kind: z.enum(['direct', 'group']),
    name: z.string().nullable(),
    description: z.string().nullable(),
    announcement: z.string().nullable(),
    dissolved: z.boolean(),
    lastSeq: z.number().int(),
    createdAt: Time,
    memberCount: z.number().int(),
    announcementOnly: z.boolean().describe('Only the owner and admins send'),
    silencedUntil: Time.nullable().describe("The caller's own silence: when it ends; null when not silenced now"),
  }),
);
const Members = named(
  'Members',
  z.strictObject({
    members: z.array(
      z.strictObject({
        userId: Id,
        role: Role,
        silencedUntil: Time.nullable().describe('When their silence ends; null when not silenced now'),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
);
const Message = named(
  'Message',
  z.strictObject({
    seq: z.number().int(),
    messageId: Id,
    senderId: Id,
    text: z.string(),
    replyToMessageId: Id.nullable(),
    replyCount: z.number().int(),
    mentions: z.strictObject({ userIds: z.array(Id), all: z.boolean() }),
    attachments: z.array(
      z.strictObject({ url: z.string(), name: z.string(), mimeType: z.string(), sizeBytes: z.number().int() }),
    ),
    reactions: z.record(z.string(), z.array(Id)).describe('Emoji to the users who reacted with it'),
    sentAt: Time,
    editedAt: Time.nullable(),
    deleted: z.boolean(),
  }),
);
const NextSeq = z.number().int().nullable().describe('The seq to pass as before= (or since=) for the next page');
const Messages = named('Messages', z.strictObject({ messages: z.array(Message), nextCursor: NextSeq }));
const Replies = named(
  'Replies',
  z.strictObject({
    root: Message.describe('The message the thread replies to'),
    messages: z.array(Message).describe('Its replies, a page by seq'),
    nextCursor: NextSeq,
    participants: z.array(Id).describe('Who wrote the root or a reply not deleted, by user id: the first 100'),
    participantCount: z.number().int(),
    unreadCount: z
      .number()
      .int()
      .nullable()
      .describe("Replies by others after the caller's read marker, for a member in the thread; else null"),
  }),
);
const Pins = named(
  'Pins',
  z.strictObject({
    pins: z.array(
      named(
        'Pin',
        z.strictObject({
          pinnedSeq: z.number().int().describe('The seq of the pin (its MessagePinned event)'),
          pinnedBy: Id,
          pinnedAt: Time,
          message: Messages.shape.messages.element,
        }),
      ),
    ),
    nextCursor: z.number().int().nullable().describe('The pinnedSeq to pass as cursor= for the next page'),
  }),
);
const Bans = named(
  'Bans',
  z.strictObject({
    bans: z.array(z.strictObject({ userId: Id, bannedBy: Id, bannedAt: Time })),
    nextCursor: z.string().nullable(),
  }),
);
const SilenceAnswer = named(
  'SilenceAnswer',
  z.strictObject({ ...CommandAnswerShape, userId: Id, silencedUntil: Time.describe('When the silence ends') }),
);
const Receipts = named(
  'Receipts',
  z.strictObject({
    receipts: z.array(z.strictObject({ userId: Id, readSeq: z.number().int(), deliveredSeq: z.number().int() })),
    nextCursor: z.string().nullable(),
  }),
);
const Up = z.strictObject({ status: z.enum(['up', 'down']) });
const Health = named(
  'Health',
  z.strictObject({
    status: z.enum(['ok', 'degraded', 'down']),
    database: Up,
    eventStore: z.strictObject({ status: z.enum(['up', 'down']), checkpoint: z.string().nullable() }),
    projections: z.array(
      z.strictObject({
        name: z.string(),
        state: z.enum(['standby', 'running', 'retrying', 'stopped', 'idle']),
        checkpoint: z.string(),
        lag: z.number().int().nullable(),
      }),
    ),
  }),
);

const Liveness = named('Liveness', z.strictObject({ status: z.literal('ok') }));
const Readiness = named('Readiness', z.strictObject({ status: z.enum(['ok', 'degraded', 'down']) }));

/** A route's contract: its answers by status (null: no body) and whether it needs a bearer token. */
export interface RouteContract {
  readonly public: boolean;
  readonly responses: Readonly<Record<number, z.ZodType | null>>;
}

/**
 * Errors any route may answer: a malformed request (400), too many requests (429), a store
 * unreachable or a read model behind (503), a bug (500); with a token, a bad one (401);
 * with a body, one too large (413) or not JSON (415).
 */
function contract(
  method: string,
  options: { public?: true; answers: Record<number, z.ZodType | null>; errors?: readonly number[] },
): RouteContract {
  const errors = [
    400,
    429,
    500,
    503,
    ...(options.public ? [] : [401]),
    ...(method === 'GET' ? [] : [413, 415]),
    ...(options.errors ?? []),
  ];
  return {
    public: options.public ?? false,
    responses: { ...Object.fromEntries(errors.map((status) => [status, ErrorBodySchema])), ...options.answers },
  };
}

const ResolveAnswer = named(
  'ResolveAnswer',
  z.strictObject({
    name: z.string().describe('The read model, with its version (timeline.v1)'),
    eventId: Id.describe('The event that was parked'),
    eventType: z.string(),
    resolution: z.enum(['retry', 'skip']),
  }),
);

/** Not found: a conversation, user or message the caller may not see, or that does not exist. */
const SearchResults = named(
  'SearchResults',
  z.strictObject({
    results: z.array(
      named(
        'SearchResult',
        z.strictObject({
          conversationId: Id,
          messageId: Id,
          seq: z.number().int(),
          senderId: Id,
          sentAt: Time,
          hasAttachment: z.boolean(),
          snippet: z
            .string()
            .describe('The text around the matches, HTML-escaped, each match in <mark>…</mark>; … where cut'),
        }),
      ),
    ),
    nextCursor: z.string().nullable(),
  }),
);

const AuditEvent = named(
  'AuditEvent',
  z.strictObject({
    checkpoint: z.string().describe('Its place in the global log'),
    streamId: z.string(),
    revision: z.number().int().describe("Its place in its stream (a conversation's seq)"),
    eventId: Id,
    type: z.string(),
    schemaVersion: z.number().int().describe('As stored (not upcast)'),
    recordedAt: z.string().describe('When the store recorded it (UTC, microseconds)'),
    data: z.unknown().describe('As stored'),
    metadata: z
      .record(z.string(), z.unknown())
      .describe('actorId, correlationId, causationId, occurredAt, and clientMessageId / traceparent when given'),
  }),
);
const AuditEvents = named(
  'AuditEvents',
  z.strictObject({
    events: z.array(AuditEvent),
    nextCursor: z.number().int().nullable().describe('The revision to pass as after= for the next page'),
  }),
);
const AuditLog = named(
  'AuditLog',
  z.string().describe('application/x-ndjson: one AuditEvent per line, in log order (recorded order for a time range)'),
);
const Hex = z.string().regex(/^[0-9a-f]*$/);
const InclusionProofAnswer = named(
  'InclusionProof',
  z.strictObject({
    version: z.literal('herald-proof-v1'),
    event: z
      .strictObject({
        streamId: z.string(),
        streamRevision: z.number().int(),
        eventId: Id,
        type: z.string(),
        schemaVersion: z.number().int(),
        data: z.string().describe('As stored (JSON text)'),
        metadata: z.string().describe('As stored (JSON text)'),
        personal: z.record(z.string(), z.unknown()).nullable(),
        previousHash: Hex.nullable(),
        hash: Hex,
      })
      .describe('The event as its hash covers it'),
    checkpoint: z.string(),
    recordedAtMicros: z.string(),
    leafIndex: z.number().int(),
    treeSize: z.number().int(),
    path: z.array(Hex).describe('RFC 9162 audit path, bottom up'),
    seal: z.strictObject({
      number: z.number().int(),
      afterCheckpoint: z.string(),
      lastCheckpoint: z.string(),
      eventCount: z.number().int(),
      merkleRoot: Hex,
      previousHash: Hex.nullable(),
      sealHash: Hex,
    }),
    digest: z.string().describe('The digest of the seal, as herald verify --digest takes it'),
  }),
);
const ConversationAsOf = named(
  'ConversationAsOf',
  z.strictObject({
    asOf: z
      .strictObject({ seq: z.number().int(), checkpoint: z.string(), recordedAt: Time })
      .nullable()
      .describe('The last event folded; null when the point is before the conversation began'),
    conversation: Conversation.nullable(),
    members: z.array(z.strictObject({ userId: Id, role: Role, silencedUntil: Time.nullable() })),
    messages: Messages.shape.messages,
    nextCursor: z.number().int().nullable(),
  }),
);
const Device = named(
  'Device',
  z.strictObject({
    deviceId: Id,
    kind: z.enum(['webpush', 'fcm', 'apns', 'webhook']),
    name: z.string().nullable(),
    target: z.string().describe("Enough to tell devices apart: a URL's origin, or a token's last 4 characters"),
    createdAt: Time,
  }),
);
const Devices = named('Devices', z.strictObject({ devices: z.array(Device) }));
const NotificationSettings = named(
  'NotificationSettings',
  z.strictObject({
    previews: z.boolean(),
    kinds: z.array(z.enum(['webpush', 'fcm', 'apns', 'webhook'])).describe('The kinds of device this server notifies'),
    webPushPublicKey: z.string().nullable().describe('The VAPID public key (base64url); null when Web Push is off'),
  }),
);

const NOT_FOUND = [404] as const;
/** Not found, or (a member's read of what only admins see) forbidden. */
const HIDDEN = [403, 404] as const;
/** A command refused by the state it met (a dissolved group, a taken name...), or by the caller's role. */
const REFUSED = [403, 404, 409] as const;
/** An audit read: hidden (404) from all but auditors, refused (409) where the event store cannot answer it. */
const AUDIT_READ = [404, 409] as const;

const ROUTES = {
  'GET /health': { public: true, answers: { 200: Health, 503: Health } },
  'GET /health/live': { public: true, answers: { 200: Liveness } },
  'GET /health/ready': { public: true, answers: { 200: Readiness, 503: Readiness } },
  'POST /auth/register': { public: true, answers: { 201: Tokens }, errors: [409] },
  'POST /auth/sign-in': { public: true, answers: { 200: Tokens }, errors: [401] },
  'POST /auth/refresh': { public: true, answers: { 200: Tokens }, errors: [401] },
  'POST /auth/sign-out': { answers: { 204: null } },
  'GET /me': { answers: { 200: Profile }, errors: NOT_FOUND },
  'PATCH /me': { answers: { 200: Profile }, errors: NOT_FOUND },
  'GET /me/invitations': { answers: { 200: Invitations } },
  'GET /me/contact-requests': { answers: { 200: ContactRequests } },
  'GET /me/sessions': { answers: { 200: Sessions } },
  'DELETE /me/sessions/:sessionId': { answers: { 200: SessionSignedOut }, errors: NOT_FOUND },
  'POST /me/devices': { answers: { 201: Device }, errors: [409] },
  'GET /me/devices': { answers: { 200: Devices } },
  'DELETE /me/devices/:deviceId': { answers: { 204: null }, errors: NOT_FOUND },
  'GET /me/notification-settings': { answers: { 200: NotificationSettings } },
  'PUT /me/notification-settings': { answers: { 200: NotificationSettings } },
  'GET /users': { answers: { 200: Users } },
  'GET /users/:userId': { answers: { 200: Profile }, errors: NOT_FOUND },
  'GET /contacts': { answers: { 200: Contacts } },
  'POST /contacts/:userId': { answers: { 200: ContactAnswer }, errors: REFUSED },
  'DELETE /contacts/:userId': { answers: { 200: ContactAnswer }, errors: REFUSED },
  'POST /contacts/:userId/accept': { answers: { 200: ContactAnswer }, errors: REFUSED },
  'POST /contacts/:userId/decline': { answers: { 200: ContactAnswer }, errors: REFUSED },
  'GET /blocks': { answers: { 200: Blocks } },
  'PUT /blocks/:userId': { answers: { 200: BlockAnswer }, errors: REFUSED },
  'DELETE /blocks/:userId': { answers: { 200: BlockAnswer }, errors: REFUSED },
  'GET /conversations': { answers: { 200: Inbox } },
  'POST /conversations/direct': { answers: { 201: CommandAnswer }, errors: REFUSED },
  'POST /conversations/groups': { answers: { 201: CommandAnswer }, errors: REFUSED },
  'GET /conversations/:id': { answers: { 200: Conversation }, errors: NOT_FOUND },
  'PATCH /conversations/:id': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'DELETE /conversations/:id': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'GET /conversations/:id/members': { answers: { 200: Members }, errors: NOT_FOUND },
  'GET /conversations/:id/messages': { answers: { 200: Messages }, errors: NOT_FOUND },
  'GET /conversations/:id/messages/:messageId/replies': { answers: { 200: Replies }, errors: NOT_FOUND },
  'POST /conversations/:id/messages': { answers: { 201: SendAnswer }, errors: REFUSED },
  'PATCH /conversations/:id/messages/:messageId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/messages/:messageId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'PUT /conversations/:id/messages/:messageId/reactions/:emoji': {
    answers: { 200: CommandAnswer },
    errors: REFUSED,
  },
  'DELETE /conversations/:id/messages/:messageId/reactions/:emoji': {
    answers: { 200: CommandAnswer },
    errors: REFUSED,
  },
  'DELETE /conversations/:id/members/:userId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'PUT /conversations/:id/members/:userId/role': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'PUT /conversations/:id/mute': { answers: { 200: MuteAnswer }, errors: REFUSED },
  'POST /conversations/:id/invitations': { answers: { 201: CommandAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/invitations/:userId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/invitations/accept': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/leave': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/links': { answers: { 201: LinkAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/links/:linkId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/join': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/owner': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/read': { answers: { 200: ReceiptAnswer }, errors: REFUSED },
  'POST /conversations/:id/delivered': { answers: { 200: ReceiptAnswer }, errors: REFUSED },
  'GET /conversations/:id/receipts': { answers: { 200: Receipts }, errors: NOT_FOUND },
  'PUT /conversations/:id/members/:userId/silence': { answers: { 200: SilenceAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/members/:userId/silence': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'GET /conversations/:id/bans': { answers: { 200: Bans }, errors: HIDDEN },
  'PUT /conversations/:id/bans/:userId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/bans/:userId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'GET /conversations/:id/pins': { answers: { 200: Pins }, errors: NOT_FOUND },
  'PUT /conversations/:id/pins/:messageId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/pins/:messageId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'GET /search': { answers: { 200: SearchResults } },
  'POST /projections/:name/resolve': { answers: { 200: ResolveAnswer }, errors: [403, 404] },
  // Auditors only; everyone else (anonymous included) gets the 404 of a missing route.
  // 409 EVENT_STORE.UNSUPPORTED_READ: what the configured store cannot answer (README "The audit API").
  'GET /audit/streams/:streamId/events': { answers: { 200: AuditEvents }, errors: AUDIT_READ },
  'GET /audit/log': { answers: { 200: AuditLog }, errors: AUDIT_READ },
  'GET /audit/conversations/:id': { answers: { 200: ConversationAsOf }, errors: AUDIT_READ },
  'GET /audit/events/:ref/proof': { answers: { 200: InclusionProofAnswer }, errors: [400, 403, 404, 409] },
} satisfies Record<string, { public?: true; answers: Record<number, z.ZodType | null>; errors?: readonly number[] }>;

/** `METHOD /path` (the router's form, `:param`) to its contract. */
export const RESPONSES: Readonly<Record<string, RouteContract>> = Object.fromEntries(
  Object.entries(ROUTES).map(([route, options]) => [route, contract(route.split(' ')[0]!, options)]),
);

/** Prometheus's scrape (text, not JSON): public, outside the API's contract and document (README "Metrics"). */
export const OPERATIONS_ROUTES: readonly string[] = ['GET /metrics'];

/**
 * The OpenAPI document and Swagger UI: public, not part of the API's contract (Swagger UI's
 * files are registered once Fastify is ready).
 */
export const DOCUMENT_ROUTES: readonly string[] = [
  'GET /docs',
  'GET /docs/',
  'GET /docs/*',
  'GET /docs/LICENSE',
  'GET /docs/docs/swagger-ui-init.js',
  'GET /docs/index.html',
  'GET /docs/json',
  'GET /docs/swagger-ui-init.js',
  'GET /docs/yaml',
];
