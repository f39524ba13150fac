import { Parser } from '@asyncapi/parser';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  asyncApiDocument,
  CatalogueError,
  defineEvent,
  eventJsonSchema,
  EVENTS,
  generatedFiles,
  MessageSent,
  personalFields,
  readEvent,
  upcast,
  UserRegistered,
  INTERNAL_EVENTS,
  PUBLIC_EVENT_TYPES,
  toWireRecord,
  MAX_MESSAGE_BYTES,
  messageText,
  utf8Length,
} from './index.js';

const root = join(import.meta.dirname, '../..');

describe('event catalogue', () => {
  it('committed JSON Schemas, AsyncAPI document and catalogue page match the code (run `npm run events:generate`)', async () => {
    for (const [path, content] of generatedFiles()) {
      const committed = await readFile(join(root, path), 'utf8').catch(() => '(missing)');
      expect(committed, `${path} is stale: run npm run events:generate`).toBe(content);
    }
  });

  it('every version change has an upcaster and a stored sample of each older payload that upcasts to a valid event', async () => {
    const samples = new Set(await readdir(join(root, 'events/samples')));
    for (const definition of EVENTS) {
      for (let version = 1; version < definition.version; version++) {
        const name = `${definition.type}.v${version}.json`;
        expect(samples.has(name), `events/samples/${name} is missing`).toBe(true);
        const sample = JSON.parse(await readFile(join(root, 'events/samples', name), 'utf8')) as Record<
          string,
          unknown
        >;
        const read = readEvent({ type: definition.type, schemaVersion: version, data: sample });
        expect(read.schemaVersion).toBe(definition.version);
      }
    }
  });

  it('an upcaster chain brings every old version to the newest shape, one step at a time', () => {
    // A made-up history: v1 had `body`, v2 renamed it `text`, v3 added a required `format`.
    const Noted = defineEvent({
      type: 'Noted',
      version: 3,
      category: 'conversation',
      description: 'test',
      schema: z.object({ text: z.string(), format: z.enum(['plain', 'markdown']) }),
      upcasters: [({ body, ...rest }) => ({ ...rest, text: body }), (v2) => ({ ...v2, format: 'plain' })],
    });
    expect(upcast(Noted, 1, { body: 'hi' })).toEqual({ text: 'hi', format: 'plain' });
    expect(upcast(Noted, 2, { text: 'hi' })).toEqual({ text: 'hi', format: 'plain' });
    expect(upcast(Noted, 3, { text: 'hi', format: 'markdown' })).toEqual({ text: 'hi', format: 'markdown' });
    expect(() => defineEvent({ ...Noted, upcasters: [] })).toThrow(/needs 2 upcaster/);
  });

  it('reads a stored event: validates it, keeps fields a newer writer added, refuses what it cannot read', () => {
    const data = {
      conversationId: '8c5e2a36-3c8b-4a55-9d0e-7f9a1f0b6d21',
      messageId: '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81',
      senderId: '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87',
      text: 'hello',
      mentions: { userIds: [], all: false },
      attachments: [],
      addedLater: 'kept',
    };
    expect(readEvent({ type: 'MessageSent', schemaVersion: 1, data }).data).toEqual(data);
    const refusedAs = (event: Parameters<typeof readEvent>[0], code: string): void => {
      expect(() => readEvent(event)).toThrow(CatalogueError);
      expect(() => readEvent(event)).toThrow(expect.objectContaining({ code }) as Error);
    };
    refusedAs({ type: 'Nope', schemaVersion: 1, data }, 'EVENT.UNKNOWN_TYPE');
    refusedAs({ type: 'MessageSent', schemaVersion: 2, data }, 'EVENT.UNKNOWN_VERSION');
    refusedAs({ type: 'MessageSent', schemaVersion: 1, data: { ...data, text: 7 } }, 'EVENT.INVALID');
    refusedAs({ type: 'MessageSent', schemaVersion: 1, data: [] }, 'EVENT.INVALID');
    refusedAs({ type: 'MessageSent', schemaVersion: 1, data, metadata: { actorId: 'x' } }, 'EVENT.INVALID');
    // Errors name fields, never echo values (message bodies must not reach logs).
    expect(() =>
      readEvent({ type: 'MessageSent', schemaVersion: 1, data: { ...data, text: 'x'.repeat(20_000) } }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining('xxxx') as unknown }) as Error);
  });

  it('marks personal fields in the JSON Schemas', () => {
    expect(personalFields(eventJsonSchema(MessageSent))).toEqual([
      'data.text',
      'data.attachments[].url',
      'data.attachments[].name',
    ]);
    expect(personalFields(eventJsonSchema(UserRegistered))).toEqual(['data.username', 'data.displayName']);
  });

  it('keeps internal events (password and refresh-token hashes) out of everything published', () => {
    const published = [...generatedFiles().values()].join('\n');
    for (const d of INTERNAL_EVENTS) {
      expect(published).not.toContain(d.type);
      expect(PUBLIC_EVENT_TYPES).not.toContain(d.type);
    }
    const stored = {
      eventId: '0b9d8f86-4f4e-4b7a-8d3e-2b1c5a6f7e81',
      type: 'PasswordSet',
      schemaVersion: 1,
      data: { userId: '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87', passwordHash: '$argon2id$v=19$x' },
      metadata: { actorId: 'a', correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00Z' },
      streamId: 'user-5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87',
      streamRevision: 1,
      globalPosition: '0-0',
      recordedAt: new Date(),
    };
    expect(readEvent(stored).data).toEqual(stored.data);
    expect(() => toWireRecord(stored)).toThrow(CatalogueError);
  });

  it('the AsyncAPI 3 document is valid', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument()));
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // 0: error; 1: warning;
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(
      document
        ?.channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['herald.identity.v1', 'herald.conversations.v1', 'herald.contacts.v1', 'herald.receipts.v1']);
    expect(document?.messages().all()).toHaveLength(EVENTS.length);
  });
});

describe('message text', () => {
  it('is measured in bytes as UTF-8, without encoding it', () => {
    for (const text of ['', 'plain', 'é', '€uro', '𝄞 clef', '🎉🎉', 'a\ud800b', '\udc00', 'x'.repeat(1000) + '日本']) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(Buffer.byteLength(text, 'utf8'));
    }
    const schema = messageText('The text.');
    expect(schema.safeParse('€'.repeat(5_461)).success).toBe(true);
    expect(schema.safeParse('€'.repeat(5_462)).success).toBe(false);
    expect(schema.safeParse('x'.repeat(MAX_MESSAGE_BYTES)).success).toBe(true);
  });
});
