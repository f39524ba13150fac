/**
 * The conversation command side: runs conversation commands through the command pipeline
 * (libs/commands) against a conversation's stream, whose revision is the seq, and receipts
 * and mutes against the member's own stream. Recently used states stay in the pipeline's
 * cache and catch up from the stream, so a command in a long conversation does not re-read
 * it. Concurrent writers meet at the expected revision: the loser catches up and decides
 * again (which is also what makes racing retries of one send write it once).
 */
import {
  appendDecided,
  CommandPipeline,
  keyedRandomLookingId,
  pairId,
  retryOnConflict,
  StateCache,
  toNewEvents,
  WithheldAnswers,
  type CommandContext,
  type Folded,
} from '@herald/commands';
import type { Checkpoint, EventStore, NewEvent } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { randomBytes } from 'node:crypto';
import { evolve, initialConversation, type Conversation, type ConversationEvent } from './domain/conversation.js';
import { decide, namedUsers, type ConversationCommand, type Facts } from './domain/decide.js';
import { ConversationError } from './domain/errors.js';
import { decideReceipt, type ReceiptCommand } from './domain/receipts.js';

/** What a conversation command answers: all its caller needs, so no caller reads the state. */
export interface Outcome {
  readonly conversationId: string;
  /** Seq of the last event this command wrote (or of the earlier send a retry repeats). */
  readonly seq: number;
  /**
   * Wait for followers to reach this to read the command's effect (for a retried send, a
   * checkpoint at or after the original); undefined when nothing was written.
   */
  readonly checkpoint: Checkpoint | undefined;
  /** The events decided; for a withheld command (a block), the ones it would have written: nothing was. */
  readonly events: readonly ConversationEvent[];
  /** For a send: the message it created, or the one the earlier send it repeats created. */
  readonly messageId?: string;
}

type SendMessage = Extract<ConversationCommand, { type: 'SendMessage' }>;

/** A send's outcome always names its message. */
export type SendOutcome = Outcome & { readonly messageId: string };

/** Commands of one conversation written in one append at most. */
const MAX_BATCH = 200;

export const streamOf = (conversationId: string): string => streamIdOf('conversation', conversationId);

/**
 * A blocked user's send gets its message id from its client id, so a retry of it is
 * answered the same id, as a retry of a written send is (a withheld send is written
 * nowhere, so the id collides with nothing). The id looks random (version 4), as a written
 * send's `randomUUID()` does, and is keyed with a server secret: one the client could
 * recompute from its own request would tell the block.
 */
function withheldSendId(
  key: string | Uint8Array,
  conversationId: string,
  command: ConversationCommand,
  facts: Facts,
): ConversationCommand {
  if (command.type !== 'SendMessage' || facts.blockedBy.size === 0) return command;
  return {
    ...command,
    messageId: keyedRandomLookingId(key, `withheld ${conversationId} ${command.actorId} ${command.clientMessageId}`),
  };
}

/** The one direct conversation of two users: an id derived from the pair. */
export const directConversationId = (a: string, b: string): string => pairId(a, b);

/** What the conversation side asks identity about people. */
export interface People {
  /** Whether a user of this id registered. */
  exists(userId: string): Promise<boolean>;
  /** Whether `blockerId` has blocked `blockedId`. */
  hasBlocked(blockerId: string, blockedId: string): Promise<boolean>;
}

/** For tools that write conversations of users they made themselves (the benchmark, tests). */
export const EVERYONE_EXISTS_NOBODY_BLOCKS: People = {
  exists: () => Promise.resolve(true),
  hasBlocked: () => Promise.resolve(false),
};

interface Pending {
  readonly command: ConversationCommand;
  readonly context: CommandContext;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
}

type Result = (Omit<Outcome, 'checkpoint'> & { readonly withheld: boolean; readonly repeated: boolean }) | Error;

export class ConversationService {
  private readonly pipeline: CommandPipeline<Conversation, ConversationEvent>;
  /** Commands waiting, per conversation, while a batch of that conversation is being written. */
  private readonly queues = new Map<string, Pending[]>();
  /** Catch-up reads in flight, shared by concurrent state() callers. */
  private readonly reading = new Map<string, Promise<Conversation>>();
  /** The reads freshState() callers wait for: each starts once the one in flight has ended. */
  private readonly nextReading = new Map<string, Promise<Conversation>>();
  /** What a withheld command (a block) is answered, as fast as a write. */
  private readonly withheldAnswers: WithheldAnswers;

  constructor(
    private readonly store: EventStore,
    /** Users named must exist; what a user the other member blocked does in a direct conversation is withheld. */
    private readonly people: People = EVERYONE_EXISTS_NOBODY_BLOCKS,
    /** What the cached states may hold in all: members, recent messages and sends (about 390 bytes each: docs/profiles/rss-growth.md). */
    cacheEntries = 1_000_000,
    /**
     * Keys withheld sends' message ids: the same on every instance (derived from the server
     * secret) so that a retry reaching another instance is answered the same id.
     */
    private readonly withheldIdKey: string | Uint8Array = randomBytes(32),
  ) {
    this.withheldAnswers = new WithheldAnswers(store);
    this.pipeline = new CommandPipeline<Conversation, ConversationEvent>(
      store,
      {
        streamOf,
        initialState: initialConversation,
        evolve: (state, event, { seq, clientMessageId }) =>
          evolve(state, { event, seq, ...(clientMessageId !== undefined ? { clientMessageId } : {}) }),
      },
      { cache: new StateCache(cacheEntries, weight), appends: this.withheldAnswers },
    );
  }

  /**
   * Decides and appends a command. Commands for one conversation in this process go in
   * batches: each batch is decided in order against the evolving state and written in one
   * append, so a busy group costs one write per batch rather than one per message, and the
   * process never races itself for the next seq.
   */
  execute(conversationId: string, command: SendMessage, context: CommandContext): Promise<SendOutcome>;
  execute(conversationId: string, command: ConversationCommand, context: CommandContext): Promise<Outcome>;
  execute(conversationId: string, command: ConversationCommand, context: CommandContext): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      const queue = this.queues.get(conversationId);
      const pending = { command, context, resolve, reject };
      if (queue) {
        queue.push(pending);
        return;
      }
      this.queues.set(conversationId, [pending]);
      void this.drain(conversationId);
    });
  }

  private async drain(conversationId: string): Promise<void> {
    for (;;) {
      const batch = this.queues.get(conversationId)!.splice(0, MAX_BATCH);
      if (batch.length === 0) {
        this.queues.delete(conversationId);
        return;
      }
      await this.writeBatch(conversationId, batch);
    }
  }

  /** The pipeline's steps for a batch: load, look up facts, decide each command in order, one append. */
  private async writeBatch(conversationId: string, batch: readonly Pending[]): Promise<void> {
    try {
      // Another process wrote first: retryOnConflict catches up and decides the batch again.
      await retryOnConflict(async (attempt) => {
        // The cached state is usually current (this process writes this conversation in
        // order); when another process wrote first, the append says so and we catch up.
        const cached = attempt === 1 ? this.pipeline.cached(conversationId) : undefined;
        let start = cached ?? (await this.pipeline.load(conversationId));
        let decided = await this.decideBatch(conversationId, batch, start);
        // Where a write would begin to append: a withheld answer's time counts from here.
        const answering = performance.now();
        // A batch that writes nothing has no append to say the cached state was stale (a
        // member who joined through another process would be refused): it is answered on
        // the state caught up with the stream, decided again if that moved.
        if (cached && decided.writes.length === 0) {
          start = await this.pipeline.load(conversationId);
          if (start.revision !== cached.revision) decided = await this.decideBatch(conversationId, batch, start);
        }
        const { folded, results, writes } = decided;
        let checkpoint: Checkpoint | undefined;
        if (writes.length > 0) {
          checkpoint = (await this.pipeline.append(conversationId, writes, start.revision)).checkpoint;
          this.pipeline.remember(conversationId, folded);
        } else if (results.some((r) => !(r instanceof Error) && r.withheld)) {
          checkpoint = await this.withheldAnswers.checkpoint(answering);
        } else if (results.some((r) => !(r instanceof Error) && r.repeated)) {
          // A retried send: the original is in the stream this state was folded from, so the
          // log's head is at or after it, and a query given it reads the original.
          checkpoint = await this.store.headCheckpoint();
        }
        batch.forEach((pending, i) => {
          const result = results[i]!;
          if (result instanceof Error) pending.reject(result);
          else {
            const { withheld, repeated, ...outcome } = result;
            const answered = withheld || repeated || outcome.events.length > 0;
            pending.resolve({ ...outcome, checkpoint: answered ? checkpoint : undefined });
          }
        });
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  /** Decides a batch in order on `start`, with the facts looked up for it: the answers and what to append. */
  private async decideBatch(
    conversationId: string,
    batch: readonly Pending[],
    start: Folded<Conversation>,
  ): Promise<{ folded: Folded<Conversation>; results: Result[]; writes: NewEvent[] }> {
    // Looked up before deciding, on every attempt: the decider does no I/O.
    const factsOf = await this.facts(batch, start.state);
    let folded = start;
    const results: Result[] = [];
    const writes: NewEvent[] = [];
    for (const { context, ...pending } of batch) {
      const facts = factsOf(pending.command.actorId);
      const command = withheldSendId(this.withheldIdKey, conversationId, pending.command, facts);
      try {
        const { events, withheld, repeats } = decide(command, folded.state, facts);
        const messageId = command.type === 'SendMessage' ? { messageId: command.messageId } : {};
        if (repeats) {
          results.push({
            conversationId,
            seq: repeats.seq,
            events,
            withheld,
            repeated: true,
            messageId: repeats.messageId,
          });
        } else if (withheld) {
          // Answered as a write is, written nowhere. Its seq is the conversation's last
          // (0 for a start: a direct conversation starts at 0 whoever starts it), never
          // one that a later event takes, which a client syncing by seqs would skip.
          const seq = Math.max(folded.state.seq, 0);
          results.push({ conversationId, seq, events, withheld, repeated: false, ...messageId });
        } else {
          const clientMessageId = command.type === 'SendMessage' ? command.clientMessageId : undefined;
          const written = { ...context, ...(clientMessageId ? { clientMessageId } : {}) };
          folded = this.pipeline.next(folded, events, written);
          writes.push(...toNewEvents(events, written));
          results.push({ conversationId, seq: folded.state.seq, events, withheld, repeated: false, ...messageId });
        }
      } catch (error) {
        results.push(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return { folded, results, writes };
  }

  /**
   * The facts a batch is decided with, per actor: which users it names never registered,
   * and whether the other member of the direct conversation (from its state, or from a
   * start in the batch) has blocked the actor. Groups need no blocks.
   */
  private async facts(batch: readonly Pending[], state: Conversation): Promise<(actorId: string) => Facts> {
    const named = [...new Set(batch.flatMap(({ command }) => namedUsers(command)))];
    const pairs = new Map<string, { actor: string; other: string }>();
    for (const { command } of batch) {
      const actor = command.actorId;
      const others =
        command.type === 'StartDirectConversation'
          ? [command.otherUserId]
          : state.kind === 'direct'
            ? [...state.members.keys()]
            : batch.flatMap(({ command: c }) =>
                c.type === 'StartDirectConversation' ? [c.actorId, c.otherUserId] : [],
              );
      for (const other of others) if (other !== actor) pairs.set(`${other} ${actor}`, { actor, other });
    }
    const [exists, found] = await Promise.all([
      Promise.all(named.map((id) => this.people.exists(id))),
      Promise.all([...pairs.values()].map(({ actor, other }) => this.people.hasBlocked(other, actor))),
    ]);
    const unknownUsers = new Set(named.filter((_, i) => !exists[i]));
    const blockedBy = new Map<string, Set<string>>();
    [...pairs.values()].forEach(({ actor, other }, i) => {
      if (found[i]) blockedBy.set(actor, new Set(blockedBy.get(actor)).add(other));
    });
    return (actorId) => ({ blockedBy: blockedBy.get(actorId) ?? NOBODY, unknownUsers });
  }

  /**
   * Records a read marker, a delivery receipt or a mute: decided against the conversation
   * (members only), written to the member's own stream, which only they write to and whose
   * order no rule depends on (the inbox keeps the furthest marker, the last mute).
   */
  async recordReceipt(
    conversationId: string,
    command: ReceiptCommand,
    context: CommandContext,
  ): Promise<{ checkpoint: Checkpoint }> {
    const events = decideReceipt(command, await this.state(conversationId));
    const { checkpoint } = await appendDecided(
      this.store,
      streamIdOf('receipts', command.actorId),
      events,
      'any',
      context,
    );
    return { checkpoint };
  }

  /**
   * The state for a query's authorization (members only), caught up with the stream.
   * Concurrent callers share one read: a thousand sockets syncing one group read it once.
   */
  state(conversationId: string): Promise<Conversation> {
    const reading = this.reading.get(conversationId);
    if (reading) return reading;
    const read = this.pipeline
      .load(conversationId)
      .then(({ state }) => state)
      .finally(() => this.reading.delete(conversationId));
    this.reading.set(conversationId, read);
    return read;
  }

  /**
   * As `state`, from a read that starts after this call, so that it includes every event
   * committed before the call: a push subscriber that listens from before the call needs
   * no read of its own for what came before (apps/api push, ADR 037). Concurrent callers
   * share the next read rather than the one on its way, which may have started before them.
   */
  freshState(conversationId: string): Promise<Conversation> {
    const next = this.nextReading.get(conversationId);
    if (next) return next;
    const inFlight = this.reading.get(conversationId);
    if (!inFlight) return this.state(conversationId);
    const read = inFlight
      .catch(() => undefined)
      .then(() => {
        // From here on a caller shares the read in flight, which starts now: after it called.
        this.nextReading.delete(conversationId);
        return this.state(conversationId);
      });
    this.nextReading.set(conversationId, read);
    return read;
  }
}

const NOBODY: ReadonlySet<string> = new Set();

/** A cached state's weight: the entries it holds. */
const weight = (state: Conversation): number =>
  1 +
  state.members.size +
  state.invited.size +
  state.messages.size +
  state.sent.size +
  state.silenced.size +
  state.banned.size +
  state.pinned.size;

export { ConversationError };
