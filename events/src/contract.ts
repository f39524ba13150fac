/**
 * Generates the published contract from the catalogue: a JSON Schema per event type
 * (the whole record value, as consumers receive it), the AsyncAPI 3 document for the
 * topics, and the catalogue page. `npm run events:generate` writes these files; a test
 * fails when the committed files and the code disagree.
 */
import { z } from 'zod';
import { CATEGORIES, type Category, type EventDefinition } from './define.js';
import { EVENTS, EventMetadataSchema } from './catalogue.js';
import {
  allTopics,
  cloudEventType,
  DEFAULT_TOPIC_PREFIX,
  HEADERS,
  OPTIONAL_HEADERS,
  TOPIC_VERSION,
  topicName,
} from './wire.js';

type JsonSchema = Record<string, unknown>;

/** Draft-07: what most consumers' validators (ajv, everit, jsonschema) read by default; AsyncAPI's default too. */
const toJsonSchema = (schema: z.ZodType): JsonSchema =>
  // `input`: objects stay open (no additionalProperties: false), so a consumer's validator
  // accepts the additive optional fields a later version of the same schema may bring.
  z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'throw' });

const schemaFileName = (d: Pick<EventDefinition, 'type' | 'version'>): string => `${d.type}.v${d.version}.json`;

/** The JSON Schema of a record value carrying this event. */
export function eventJsonSchema(definition: EventDefinition<string, z.ZodType, Category>): JsonSchema {
  const data = toJsonSchema(definition.schema);
  const metadata = toJsonSchema(EventMetadataSchema);
  delete data.$schema;
  delete metadata.$schema;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://herald.dev/schemas/events/${schemaFileName(definition)}`,
    title: `${definition.type} v${definition.version}`,
    description: definition.description,
    type: 'object',
    properties: {
      eventId: { type: 'string', format: 'uuid', description: 'Unique event id; deduplicate by it.' },
      type: { const: definition.type },
      schemaVersion: { const: definition.version },
      streamId: {
        type: 'string',
        pattern: `^${CATEGORIES[definition.category].streamPrefix}`,
        description: 'The stream the event belongs to (the record key).',
      },
      streamRevision: {
        type: 'integer',
        minimum: 0,
        description: 'Position in the stream, gap-free; for conversations the seq.',
      },
      checkpoint: { type: 'string', description: "Global position in Herald's log: opaque, sortable as a string." },
      recordedAt: { type: 'string', format: 'date-time', description: 'When the store committed it.' },
      data,
      metadata,
    },
    required: [
      'eventId',
      'type',
      'schemaVersion',
      'streamId',
      'streamRevision',
      'checkpoint',
      'recordedAt',
      'data',
      'metadata',
    ],
  };
}

/** Field paths marked personal (`x-personal`) in a JSON Schema, e.g. `text`, `attachments[].url`. */
export function personalFields(schema: JsonSchema, path = ''): string[] {
  const found: string[] = [];
  if (schema['x-personal'] === true) found.push(path);
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  for (const [name, sub] of Object.entries(properties ?? {}))
    found.push(...personalFields(sub, path ? `${path}.${name}` : name));
  const items = schema.items as JsonSchema | JsonSchema[] | undefined;
  if (Array.isArray(items)) items.forEach((sub, i) => found.push(...personalFields(sub, `${path}[${i}]`)));
  else if (items) found.push(...personalFields(items, `${path}[]`));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    for (const sub of (schema[key] as JsonSchema[] | undefined) ?? []) found.push(...personalFields(sub, path));
  }
  return [...new Set(found)];
}

function headersSchema(definition: EventDefinition<string, z.ZodType, Category>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [name, description] of Object.entries({ ...HEADERS, ...OPTIONAL_HEADERS })) {
    properties[name] = { type: 'string', description };
  }
  properties.ce_specversion = { ...properties.ce_specversion, const: '1.0' };
  properties.ce_type = { ...properties.ce_type, const: cloudEventType(definition.type, definition.version) };
  properties['content-type'] = { ...properties['content-type'], const: 'application/json' };
  return { type: 'object', properties, required: Object.keys(HEADERS) };
}

/** The AsyncAPI 3 document for the default topic prefix (a deployment may set another). */
export function asyncApiDocument(): JsonSchema {
  const categories = Object.keys(CATEGORIES) as Category[];
  const messages: Record<string, JsonSchema> = {};
  const schemas: Record<string, JsonSchema> = {};
  for (const d of EVENTS) {
    const key = `${d.type}.v${d.version}`;
    const payload = eventJsonSchema(d);
    delete payload.$schema;
    delete payload.$id;
    schemas[key] = payload;
    messages[d.type] = {
      name: d.type,
      title: `${d.type} v${d.version}`,
      summary: d.description,
      contentType: 'application/json',
      headers: headersSchema(d),
      payload: { $ref: `#/components/schemas/${key}` },
      bindings: {
        kafka: { key: { type: 'string', description: 'The stream id: one stream stays in one partition, in order.' } },
      },
    };
  }
  const channels: Record<string, JsonSchema> = {};
  const operations: Record<string, JsonSchema> = {};
  for (const category of categories) {
    const events = EVENTS.filter((d) => d.category === category);
    channels[category] = {
      address: topicName(category),
      title: topicName(category),
      description: `${CATEGORIES[category].description} Key: the stream id (\`${CATEGORIES[category].streamPrefix}<id>\`). The prefix \`${DEFAULT_TOPIC_PREFIX}\` is KAFKA_TOPIC_PREFIX.`,
      messages: Object.fromEntries(events.map((d) => [d.type, { $ref: `#/components/messages/${d.type}` }])),
    };
    operations[`consume-${category}`] = {
      action: 'receive',
      title: `Consume ${topicName(category)}`,
      summary: 'At least once, in stream order per key; deduplicate by ce_id (or by ce_streamrevision per key).',
      channel: { $ref: `#/channels/${category}` },
      messages: events.map((d) => ({ $ref: `#/channels/${category}/messages/${d.type}` })),
    };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Herald integration stream',
      version: `${TOPIC_VERSION}.0.0`,
      description:
        'Every event Herald commits, relayed from its event store to Kafka after the commit: at least once, ordered per stream (one key per stream), with CloudEvents binary-mode headers. Events are always in the newest version of their type.',
    },
    defaultContentType: 'application/json',
    servers: {
      kafka: { host: 'localhost:9092', protocol: 'kafka', description: 'Whatever KAFKA_BROKERS names.' },
    },
    channels,
    operations,
    components: { messages, schemas },
  };
}

/** The catalogue page (docs/events.md). */
function catalogueMarkdown(): string {
  const lines = [
    '# Event catalogue',
    '',
    'Generated by `npm run events:generate` from `events/src`; do not edit by hand.',
    '',
    'Every event has `eventId`, `type`, `schemaVersion`, `data` and `metadata`',
    '(`actorId`, `correlationId`, `causationId`, `occurredAt`, optional `clientMessageId` and `traceparent`).',
    `On Kafka (topics \`<prefix>.<family>.v${TOPIC_VERSION}\`, prefix \`${DEFAULT_TOPIC_PREFIX}\` by default: ${allTopics()
      .map((t) => `\`${t}\``)
      .join(', ')}) the record key is the stream id and the value is the event with`,
    '`streamId`, `streamRevision`, `checkpoint` and `recordedAt`; JSON Schemas in `events/schemas/`, AsyncAPI in',
    '`events/asyncapi.json`. Fields marked **personal** are personal data: every copy of the event (store, Kafka,',
    'exports) holds them in the same form, so crypto-shredding reaches all of them.',
    '',
    '## Headers (CloudEvents, binary mode)',
    '',
    '| header | meaning |',
    '|---|---|',
    ...Object.entries({ ...HEADERS, ...OPTIONAL_HEADERS }).map(([name, meaning]) => `| \`${name}\` | ${meaning} |`),
  ];
  for (const category of Object.keys(CATEGORIES) as Category[]) {
    lines.push('', `## ${category}: \`${CATEGORIES[category].streamPrefix}<id>\` → \`${topicName(category)}\``, '');
    lines.push(CATEGORIES[category].description);
    for (const d of EVENTS.filter((e) => e.category === category)) {
      lines.push(
        '',
        `### ${d.type} (v${d.version})`,
        '',
        d.description,
        '',
        '| field | type | required | notes |',
        '|---|---|---|---|',
      );
      lines.push(...fieldRows(toJsonSchema(d.schema)));
    }
  }
  return `${lines.join('\n')}\n`;
}

function fieldRows(schema: JsonSchema, path = ''): string[] {
  const rows: string[] = [];
  const properties = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = new Set((schema.required as string[] | undefined) ?? []);
  for (const [name, sub] of Object.entries(properties)) {
    const at = path ? `${path}.${name}` : name;
    const notes = [
      sub['x-personal'] === true ? '**personal**' : '',
      typeof sub.description === 'string' ? sub.description : '',
    ]
      .filter(Boolean)
      .join(' ');
    rows.push(`| \`${at}\` | ${typeOf(sub)} | ${required.has(name) ? 'yes' : 'no'} | ${notes} |`);
    const items = sub.items as JsonSchema | undefined;
    if (items && !Array.isArray(items) && items.properties) rows.push(...fieldRows(items, `${at}[]`));
    if (sub.properties) rows.push(...fieldRows(sub, at));
  }
  return rows;
}

function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum))
    return (schema.enum as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as JsonSchema[]).map(typeOf).join(' \\| ');
  const type = Array.isArray(schema.type)
    ? (schema.type as string[]).join(' \\| ')
    : typeof schema.type === 'string'
      ? schema.type
      : 'any';
  const format = typeof schema.format === 'string' ? ` (${schema.format})` : '';
  if (type === 'array') {
    const items = schema.items;
    return Array.isArray(items)
      ? `[${(items as JsonSchema[]).map(typeOf).join(', ')}]`
      : `${typeOf((items as JsonSchema | undefined) ?? {})}[]`;
  }
  return `${type}${format}`;
}

/** Every generated file, by path from the repository root. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  for (const d of EVENTS) files.set(`events/schemas/${schemaFileName(d)}`, json(eventJsonSchema(d)));
  files.set('events/asyncapi.json', json(asyncApiDocument()));
  files.set('docs/events.md', catalogueMarkdown());
  return files;
}
