/**
 * A consumer of Herald's integration stream, written to be copied by an integration team.
 * It depends only on kafkajs, ajv and the published JSON Schemas (events/schemas), not on
 * Herald's code.
 *
 * What it does, and why:
 * - Validates every record against the published schema named by its `ce_type` header
 *   (`herald.<Type>.v<N>` → `<Type>.v<N>.json`) before handing it on.
 * - Deduplicates: Herald delivers at least once, so a record can come twice (after a relay
 *   restart or a broker hiccup). An event id lives at exactly one (stream, revision), and a
 *   stream's events arrive in revision order, so "revision not above the last one handled for
 *   this stream" is exactly "an event id already handled", in memory bounded by the number of
 *   streams, and it survives restarts in the state file.
 * - Keeps its own offsets (no Kafka consumer-group commits): the state file holds, together,
 *   the next offset per partition and the last revision per stream, written atomically after
 *   each batch. On (re)assignment it seeks to the stored offsets. Keep that state in the same
 *   transaction as your own effects when you can; then handling is exactly once.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import kafkajs from 'kafkajs';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const { Kafka, logLevel } = kafkajs;

/** The record value Herald produces (see events/schemas). */
export interface HeraldEvent {
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly checkpoint: string;
  readonly recordedAt: string;
  readonly data: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}

export interface Delivery {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface ConsumerOptions {
  readonly brokers: string[];
  readonly groupId: string;
  readonly topics: string[];
  /** The directory with Herald's published `<Type>.v<N>.json` schemas. */
  readonly schemasDir: string;
  /** Where offsets and last revisions are kept. */
  readonly stateFile: string;
  /** Called once per event, in stream order. */
  readonly handle: (event: HeraldEvent, delivery: Delivery) => Promise<void>;
  /** A record that does not match its schema. Default: stop, since the contract is broken. */
  readonly onInvalid?: (problem: string, delivery: Delivery) => Promise<void>;
  readonly log?: (message: string) => void;
}

interface State {
  /** `topic:partition` → the next offset to read. */
  offsets: Record<string, string>;
  /** stream id → the last revision handled. */
  revisions: Record<string, number>;
}

export class HeraldConsumer {
  private consumer: kafkajs.Consumer | undefined;
  private state: State = { offsets: {}, revisions: {} };
  private validators = new Map<string, ValidateFunction>();

  constructor(private readonly options: ConsumerOptions) {}

  async start(): Promise<void> {
    this.validators = await loadSchemas(this.options.schemasDir);
    this.state = await loadState(this.options.stateFile);
    const log = this.options.log ?? (() => undefined);
    const kafka = new Kafka({
      clientId: `${this.options.groupId}-consumer`,
      brokers: this.options.brokers,
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => log(`kafka: ${entry.log.message}`),
    });
    const consumer = kafka.consumer({ groupId: this.options.groupId, maxWaitTimeInMs: 1_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.options.topics, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Our offsets, not the group's: seek every assigned partition to where we stopped.
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
        for (const partition of partitions) {
          const offset = this.state.offsets[`${topic}:${partition}`];
          if (offset !== undefined) consumer.seek({ topic, partition, offset });
        }
      }
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        for (const message of batch.messages) {
          if (!payload.isRunning() || payload.isStale()) break;
          const delivery: Delivery = {
            topic: batch.topic,
            partition: batch.partition,
            offset: message.offset,
            headers: decodeHeaders(message.headers),
          };
          await this.receive(message.value, delivery);
          this.state.offsets[`${batch.topic}:${batch.partition}`] = String(BigInt(message.offset) + 1n);
          payload.resolveOffset(message.offset);
        }
        await saveState(this.options.stateFile, this.state);
        await payload.heartbeat();
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async receive(value: Buffer | null, delivery: Delivery): Promise<void> {
    const invalid = async (problem: string): Promise<void> => {
      if (this.options.onInvalid) return this.options.onInvalid(problem, delivery);
      throw new Error(`invalid record at ${delivery.topic}/${delivery.partition}@${delivery.offset}: ${problem}`);
    };
    const type = delivery.headers.ce_type ?? '';
    const validate = this.validators.get(type);
    if (!validate) return invalid(`no published schema for ce_type ${JSON.stringify(type)}`);
    let event: unknown;
    try {
      event = JSON.parse(value?.toString('utf8') ?? 'null');
    } catch {
      return invalid('value is not JSON');
    }
    if (!validate(event)) {
      return invalid(validate.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ') ?? 'invalid');
    }
    const herald = event as HeraldEvent;
    if (herald.eventId !== delivery.headers.ce_id) return invalid('ce_id does not match the event id');
    const last = this.state.revisions[herald.streamId];
    if (last !== undefined && herald.streamRevision <= last) return; // seen: a re-delivery
    await this.options.handle(herald, delivery);
    this.state.revisions[herald.streamId] = herald.streamRevision;
  }
}

/** One validator per published `<Type>.v<N>.json`, keyed by the `ce_type` it describes. */
async function loadSchemas(dir: string): Promise<Map<string, ValidateFunction>> {
  const ajv = new Ajv({ strict: false, allErrors: false });
  addFormats.default(ajv);
  const validators = new Map<string, ValidateFunction>();
  for (const file of await readdir(dir)) {
    const match = /^(\w+)\.v(\d+)\.json$/.exec(file);
    if (!match) continue;
    const schema = JSON.parse(await readFile(join(dir, file), 'utf8')) as object;
    validators.set(`herald.${match[1]}.v${match[2]}`, ajv.compile(schema));
  }
  return validators;
}

function decodeHeaders(headers: kafkajs.IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

async function loadState(file: string): Promise<State> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as State;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { offsets: {}, revisions: {} };
    throw error;
  }
}

/** Write-then-rename: a crash leaves the old state or the new one, never half of one. */
async function saveState(file: string, state: State): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(state));
  await rename(`${file}.tmp`, file);
}
