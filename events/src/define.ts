/**
 * How an event type is declared: its name, current version, stream category, runtime
 * schema for the current version, and the upcasters that bring older stored payloads up
 * to it. Plain TypeScript and zod only: integrations read this package.
 */
import { z } from 'zod';

/** Public stream categories: the stream id prefix and the topic family their events go to. */
export const CATEGORIES = {
  /** `user-<userId>`: a user's identity, profile and contacts. */
  user: { streamPrefix: 'user-', topic: 'identity', description: 'Users, profiles, contacts and blocks.' },
  /** `conversation-<conversationId>`: a conversation and its messages; the stream revision is the seq. */
  conversation: {
    streamPrefix: 'conversation-',
    topic: 'conversations',
    description: 'Direct and group conversations, membership and messages, in seq order.',
  },
  /** `contact-<pairId>`: the contact relation of two users (requests, acceptance, removal). */
  contact: {
    streamPrefix: 'contact-',
    topic: 'contacts',
    description: 'Contact requests and contacts between two users; one stream per pair.',
  },
  /** `receipts-<userId>`: a user's own place in each conversation: how far read and delivered, muted or not. */
  receipts: {
    streamPrefix: 'receipts-',
    topic: 'receipts',
    description:
      "Read markers, delivery receipts and mutes, per user: kept out of the conversation streams, so reading costs a busy group nothing and a mute is the user's own business.",
  },
} as const;

/**
 * Internal stream categories, whose events are never relayed and have no published schema.
 * (Internal event types can also live in public streams: see INTERNAL_EVENTS.)
 */
export const INTERNAL_CATEGORIES = {
  /** `username-<name>`: who holds a user name (names are unique). */
  username: { streamPrefix: 'username-', description: 'Claims on user names, which are unique.' },
  /** `session-<sessionId>`: a sign-in session and its rotating refresh token (as a hash). */
  session: { streamPrefix: 'session-', description: 'Sign-in sessions and their refresh tokens.' },
  /** `audit-<auditorId>`: the reads one auditor made through the audit API. */
  audit: { streamPrefix: 'audit-', description: "Every read through the audit API, in the auditor's stream." },
} as const;

export type Category = keyof typeof CATEGORIES;
export type InternalCategory = keyof typeof INTERNAL_CATEGORIES;

/** Turns the payload of version `n` into the payload of version `n + 1`. */
export type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

export interface EventDefinition<
  Type extends string = string,
  Schema extends z.ZodType = z.ZodType,
  C extends Category | InternalCategory = Category | InternalCategory,
> {
  readonly type: Type;
  /** The current version; stored events of older versions are upcast to it on read. */
  readonly version: number;
  readonly category: C;
  /** What happened, for the catalogue page and the AsyncAPI document. */
  readonly description: string;
  /** The payload (`data`) of the current version. */
  readonly schema: Schema;
  /** `upcasters[n - 1]` turns version n into n + 1; so there are `version - 1` of them. */
  readonly upcasters: readonly Upcaster[];
}

export function defineEvent<
  const Type extends string,
  Schema extends z.ZodType,
  const C extends Category | InternalCategory,
>(
  definition: Omit<EventDefinition<Type, Schema, C>, 'upcasters'> & { readonly upcasters?: readonly Upcaster[] },
): EventDefinition<Type, Schema, C> {
  const upcasters = definition.upcasters ?? [];
  if (!Number.isInteger(definition.version) || definition.version < 1) {
    throw new Error(`${definition.type}: version must be a positive integer`);
  }
  if (upcasters.length !== definition.version - 1) {
    throw new Error(`${definition.type}: version ${definition.version} needs ${definition.version - 1} upcaster(s)`);
  }
  return { ...definition, upcasters };
}

/** The payload type of an event definition. */
export type EventData<D> =
  D extends EventDefinition<string, infer S, Category | InternalCategory> ? z.output<S> : never;

/**
 * Marks a field as personal data. Personal fields get the same treatment in every copy
 * of an event (store, Kafka, exports): the crypto-shredding issue encrypts them at the
 * source, so every copy holds the same ciphertext. The JSON Schemas carry `x-personal`.
 */
export function personal<S extends z.ZodType>(schema: S, description: string): S {
  return schema.meta({ description, 'x-personal': true });
}

// Field types shared by event payloads.
export const id = (description: string): z.ZodUUID => z.uuid().meta({ description });

/**
 * A time an event may carry, in UTC: from 1970 through 9999. Every read model must be able
 * to store what an event holds, and PostgreSQL's timestamptz has no year 0 (a mute "until
 * 0000-01-01" stopped the membership projection); the bounds are also what a person can
 * mean. A regex rather than a refinement, so that the JSON Schemas say it too.
 */
export const boundedDateTime = () =>
  z.iso.datetime().regex(/^(?:19[7-9]\d|[2-9]\d{3})-/, 'a time from 1970 through 9999 (UTC)');
/** A message's text is at most 16 KiB as UTF-8 (so also at most that many characters). */
export const MAX_MESSAGE_BYTES = 16_384;

/** Bytes of `text` as UTF-8, counted without encoding it (a lone surrogate counts 3, as it is replaced). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** The text of a message, as events and the API take it. */
export const messageText = (description: string) =>
  personal(
    z
      .string()
      .max(MAX_MESSAGE_BYTES)
      .refine((text) => utf8Length(text) <= MAX_MESSAGE_BYTES, `at most ${MAX_MESSAGE_BYTES} bytes as UTF-8`),
    `${description} At most ${MAX_MESSAGE_BYTES} bytes as UTF-8.`,
  );
