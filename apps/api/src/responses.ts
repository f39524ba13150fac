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
  }),
);
const Members = named(
  'Members',
  z.strictObject({
    members: z.array(z.strictObject({ userId: Id, role: Role })),
    nextCursor: z.string().nullable(),
  }),
);
const Messages = named(
  'Messages',
  z.strictObject({
    messages: z.array(
      named(
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
      ),
    ),
    nextCursor: z.number().int().nullable().describe('The seq to pass as before= (or since=) for the next page'),
  }),
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

const NOT_FOUND = [404] as const;
/** A command refused by the state it met (a dissolved group, a taken name...), or by the caller's role. */
const REFUSED = [403, 404, 409] as const;

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
  'POST /conversations/:id/invitations/accept': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/leave': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/links': { answers: { 201: LinkAnswer }, errors: REFUSED },
  'DELETE /conversations/:id/links/:linkId': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/join': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/owner': { answers: { 200: CommandAnswer }, errors: REFUSED },
  'POST /conversations/:id/read': { answers: { 200: ReceiptAnswer }, errors: REFUSED },
  'POST /conversations/:id/delivered': { answers: { 200: ReceiptAnswer }, errors: REFUSED },
  'GET /conversations/:id/receipts': { answers: { 200: Receipts }, errors: NOT_FOUND },
  'GET /search': { answers: { 200: SearchResults } },
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
