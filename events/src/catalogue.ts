/**
 * The catalogue: every event type Herald writes, and the one way to read a stored event
 * (`readEvent`): upcast to the newest version, then check it against the schema. Readers
 * (projections, the Kafka relay, audit) only ever see the newest shape.
 */
import { z } from 'zod';
import type { Category, EventData, EventDefinition, InternalCategory } from './define.js';
import {
  PasswordSet,
  SessionRefreshed,
  SessionRevoked,
  SessionStarted,
  SignInAttempted,
  UsernameClaimed,
} from './internal/identity.js';
import { UserRegistered } from './identity/user-registered.js';
import { ProfileUpdated } from './identity/profile-updated.js';
import { DirectConversationStarted } from './conversations/direct-conversation-started.js';
import { GroupCreated } from './conversations/group-created.js';
import { GroupRenamed } from './conversations/group-renamed.js';
import { GroupDetailsChanged } from './conversations/group-details-changed.js';
import { MemberInvited } from './conversations/member-invited.js';
import { InvitationWithdrawn } from './conversations/invitation-withdrawn.js';
import { MemberJoined } from './conversations/member-joined.js';
import { MemberLeft } from './conversations/member-left.js';
import { MemberKicked } from './conversations/member-kicked.js';
import { MemberRoleChanged } from './conversations/member-role-changed.js';
import { MemberSilenced, MemberUnsilenced } from './conversations/member-silenced.js';
import { MemberBanned, MemberUnbanned } from './conversations/member-banned.js';
import { GroupAnnouncementOnlyChanged } from './conversations/group-announcement-only-changed.js';
import { ConversationMuteChanged } from './receipts/conversation-mute-changed.js';
import { GroupDissolved } from './conversations/group-dissolved.js';
import { InvitationLinkCreated, InvitationLinkRevoked } from './conversations/invitation-links.js';
import { MessageSent } from './messaging/message-sent.js';
import { MessageEdited } from './messaging/message-edited.js';
import { MessageDeleted } from './messaging/message-deleted.js';
import { ReactionAdded } from './messaging/reaction-added.js';
import { ReactionRemoved } from './messaging/reaction-removed.js';
import { MessagePinned, MessageUnpinned } from './messaging/message-pinned.js';
import { ConversationRead } from './receipts/conversation-read.js';
import {
  ContactRemoved,
  ContactRequestAccepted,
  ContactRequestDeclined,
  ContactRequested,
} from './contacts/contact-events.js';
import { UserBlocked, UserUnblocked } from './identity/user-blocked.js';
import { MessagesDelivered } from './receipts/messages-delivered.js';
import { AuditRead, SystemRoleGranted, SystemRoleRevoked } from './internal/audit.js';

export const EVENTS = [
  UserRegistered,
  ProfileUpdated,
  UserBlocked,
  UserUnblocked,
  ContactRequested,
  ContactRequestAccepted,
  ContactRequestDeclined,
  ContactRemoved,
  DirectConversationStarted,
  GroupCreated,
  GroupRenamed,
  GroupDetailsChanged,
  GroupAnnouncementOnlyChanged,
  MemberInvited,
  InvitationWithdrawn,
  InvitationLinkCreated,
  InvitationLinkRevoked,
  MemberJoined,
  MemberLeft,
  MemberKicked,
  MemberRoleChanged,
  MemberSilenced,
  MemberUnsilenced,
  MemberBanned,
  MemberUnbanned,
  ConversationMuteChanged,
  GroupDissolved,
  MessageSent,
  MessageEdited,
  MessageDeleted,
  ReactionAdded,
  ReactionRemoved,
  MessagePinned,
  MessageUnpinned,
  ConversationRead,
  MessagesDelivered,
] as const;

/** Internal events: never relayed and no published schema, whatever stream they are in. */
export const INTERNAL_EVENTS = [
  UsernameClaimed,
  PasswordSet,
  SignInAttempted,
  SessionStarted,
  SessionRefreshed,
  SessionRevoked,
  SystemRoleGranted,
  SystemRoleRevoked,
  AuditRead,
] as const;

type Definitions = (typeof EVENTS)[number] | (typeof INTERNAL_EVENTS)[number];
export type EventType = Definitions['type'];

/** Any catalogued event's type and payload, as a discriminated union on `type`. */
export type CatalogueEvent = {
  [D in Definitions as D['type']]: { readonly type: D['type']; readonly data: EventData<D> };
}[EventType];

/** The events of one stream category, e.g. `EventIn<'conversation'>`. */
export type EventIn<C extends Category | InternalCategory> = Extract<
  CatalogueEvent,
  { readonly type: Extract<Definitions, { readonly category: C }>['type'] }
>;

const ALL: readonly EventDefinition[] = [...EVENTS, ...INTERNAL_EVENTS];
const byType: ReadonlyMap<string, EventDefinition> = new Map(ALL.map((d) => [d.type, d]));
if (byType.size !== ALL.length) throw new Error('two event definitions share a type');

export function definitionOf(type: string): EventDefinition | undefined {
  return byType.get(type);
}

/** The event types the integration stream carries (internal ones in public streams are skipped). */
export const PUBLIC_EVENT_TYPES: readonly string[] = EVENTS.map((d) => d.type);

/** Who, when and why: the metadata every event carries (extra keys are allowed and kept). */
export const EventMetadataSchema = z
  .looseObject({
    actorId: z.string().min(1).max(200).meta({ description: 'Who caused the event: a user id, or `system`.' }),
    correlationId: z.string().min(1).max(200).meta({ description: 'The request or workflow the event belongs to.' }),
    causationId: z.string().min(1).max(200).meta({ description: 'The command or event that caused this one.' }),
    occurredAt: z.iso.datetime({ offset: true }).meta({ description: 'When it was decided (domain clock).' }),
    clientMessageId: z.string().max(200).optional().meta({ description: "The client's id for an idempotent send." }),
    traceparent: z.string().max(200).optional().meta({ description: 'W3C trace context of the command.' }),
  })
  .meta({ description: 'Who, when and why.' });

export type CatalogueErrorCode =
  'EVENT.UNKNOWN_TYPE' | 'EVENT.UNKNOWN_VERSION' | 'EVENT.UNKNOWN_STREAM' | 'EVENT.INVALID';

/** A stored event the catalogue cannot read: unknown type, a version newer than known, or a payload off its schema. */
export class CatalogueError extends Error {
  constructor(
    readonly code: CatalogueErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CatalogueError';
  }
}

export interface StoredEventShape {
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata?: unknown;
}

export interface ReadEvent {
  readonly definition: EventDefinition;
  /** Always the definition's current version. */
  readonly schemaVersion: number;
  /**
   * The payload in the newest shape. Validated, but not rewritten by the schema: fields a
   * newer writer added are kept, so a copy (e.g. in Kafka) holds what the store holds.
   */
  readonly data: Record<string, unknown>;
}

/**
 * Events read already, by the stored event's object: the followers of one process (each read
 * model, the relay, the live push) share the log tail's event objects, and each reads every
 * event, so each event is upcast and validated once rather than once per follower (issue 17).
 * Only what checked is kept; a stored event is never changed after it was read from the store.
 */
const readAlready = new WeakMap<StoredEventShape, ReadEvent>();

/** Upcasts a stored event to its type's current version and validates it; throws CatalogueError. */
export function readEvent(event: StoredEventShape): ReadEvent {
  const known = readAlready.get(event);
  if (known) return known;
  const read = readUncached(event);
  readAlready.set(event, read);
  return read;
}

function readUncached(event: StoredEventShape): ReadEvent {
  const definition = byType.get(event.type);
  if (!definition) throw new CatalogueError('EVENT.UNKNOWN_TYPE', `unknown event type ${JSON.stringify(event.type)}`);
  const version = event.schemaVersion;
  if (!Number.isInteger(version) || version < 1 || version > definition.version) {
    throw new CatalogueError(
      'EVENT.UNKNOWN_VERSION',
      `${definition.type} version ${version} is not known (current: ${definition.version})`,
    );
  }
  if (!isRecord(event.data)) throw new CatalogueError('EVENT.INVALID', `${definition.type}: data is not an object`);
  const data = upcast(definition, version, event.data);
  const checked = definition.schema.safeParse(data);
  if (!checked.success) {
    throw new CatalogueError('EVENT.INVALID', `${definition.type} v${definition.version}: ${describe(checked.error)}`);
  }
  if (event.metadata !== undefined) {
    const meta = EventMetadataSchema.safeParse(event.metadata);
    if (!meta.success)
      throw new CatalogueError('EVENT.INVALID', `${definition.type} metadata: ${describe(meta.error)}`);
  }
  return { definition, schemaVersion: definition.version, data };
}

/** Brings a payload of `version` up to the definition's current version, one upcaster at a time. */
export function upcast(
  definition: EventDefinition,
  version: number,
  data: Record<string, unknown>,
): Record<string, unknown> {
  let current = data;
  for (let v = version; v < definition.version; v++) current = definition.upcasters[v - 1]!(current);
  return current;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
