/**
 * The conversation command side: decides commands against a conversation's state and
 * appends the outcome to its stream, whose revision is the seq. Recently used states stay
 * in memory and catch up from the stream, so a command in a long conversation does not
 * re-read it. Concurrent writers meet at the expected revision: the loser catches up and
 * decides again (which is also what makes racing retries of one send write it once).
 */
import {
  keyedRandomLookingId,
  pairId,
  retryOnConflict,
  toNewEvents,
  WithheldAnswers,
  type CommandContext,
} from '@herald/commands';
import { readEvent, type EventIn } from '@herald/events';
import { StreamNotFound, type Checkpoint, type EventStore, type NewEvent } from '@herald/event-store';
import { randomBytes } from 'node:crypto';
import {
  evolve,
  initialConversation,
  sentKey,
  type Conversation,
  type ConversationEvent,
} from './domain/conversation.js';
import { decideDelivery, NO_BLOCKS, type Blocks, type ConversationCommand } from './domain/decide.js';
import { ConversationError, notFound } from './domain/errors.js';

export interface Outcome {
  readonly conversationId: string;
  /** Seq of the last event this command wrote (or of the earlier send a retry repeats). */
  readonly seq: number;
  /** Wait for followers to reach this to read the command's effect; undefined when nothing was written. */
  readonly checkpoint: Checkpoint | undefined;
  /** The events decided; for a withheld command (a block), the ones it would have written: nothing was. */
  readonly events: readonly ConversationEvent[];
}

/** Commands of one conversation written in one append at most. */
const MAX_BATCH = 200;

export const streamOf = (conversationId: string): string => `conversation-${conversationId}`;

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
  blocks: ReadonlyMap<string, Blocks>,
): ConversationCommand {
  if (command.type !== 'SendMessage' || !blocks.has(command.actorId)) return command;
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

export class ConversationService {
  private readonly states = new Map<string, Conversation>();
  /** The entries the cached states hold (their weight), kept under cacheEntries. */
  private cachedEntries = 0;
  /** Commands waiting, per conversation, while a batch of that conversation is being written. */
  private readonly queues = new Map<string, Pending[]>();
  /** Catch-up reads in flight, shared by concurrent state() callers. */
  private readonly reading = new Map<string, Promise<Conversation>>();
  /** What a withheld command (a block) is answered, as fast as a write. */
  private readonly withheldAnswers: WithheldAnswers;

  constructor(
    private readonly store: EventStore,
    /** Users named must exist; what a user the other member blocked does in a direct conversation is withheld. */
    private readonly people: People = EVERYONE_EXISTS_NOBODY_BLOCKS,
    /** What the cached states may hold in all: members, recent messages and sends (about 200 bytes each). */
    private readonly cacheEntries = 1_000_000,
    /**
     * Keys withheld sends' message ids: the same on every instance (derived from the server
     * secret) so that a retry reaching another instance is answered the same id.
     */
    private readonly withheldIdKey: string | Uint8Array = randomBytes(32),
  ) {
    this.withheldAnswers = new WithheldAnswers(store);
  }

  /**
   * Decides and appends a command. Commands for one conversation in this process go in
   * batches: each batch is decided in order against the evolving state and written in one
   * append, so a busy group costs one write per batch rather than one per message, and the
   * process never races itself for the next seq.
   */
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

  private async writeBatch(conversationId: string, batch: readonly Pending[]): Promise<void> {
    try {
      // Another process wrote first: retryOnConflict catches up and decides the batch again.
      await retryOnConflict(async (attempt) => {
        // The cached state is usually current (this process writes this conversation in
        // order); when another process wrote first, the append says so and we catch up.
        const cached = attempt === 1 ? this.states.get(conversationId) : undefined;
        const start = cached ?? (await this.catchUp(conversationId));
        let state = start;
        // Loaded before deciding: the decider gets the blocks as input and does no I/O.
        const blocks = await this.blocksOf(batch, start);
        const results: ((Omit<Outcome, 'checkpoint'> & { withheld: boolean }) | Error)[] = [];
        const writes: NewEvent[] = [];
        for (const { context, ...pending } of batch) {
          const command = withheldSendId(this.withheldIdKey, conversationId, pending.command, blocks);
          try {
            if (command.type === 'SendMessage') {
              const earlier = state.sent.get(sentKey(command.actorId, command.clientMessageId));
              if (earlier) {
                results.push({ conversationId, seq: earlier.seq, events: [], withheld: false });
                continue;
              }
            }
            const { events, withheld } = decideDelivery(command, state, blocks.get(command.actorId) ?? NO_BLOCKS);
            // After the decider's authorization: who may not do this learns nothing of users.
            if (events.length > 0) await this.refuseUnknownUsers(command);
            if (withheld) {
              // Answered as a write is, written nowhere. Its seq is the conversation's last
              // (0 for a start: a direct conversation starts at 0 whoever starts it), never
              // one that a later event takes, which a client syncing by seqs would skip.
              results.push({ conversationId, seq: Math.max(state.seq, 0), events, withheld });
              continue;
            }
            const clientMessageId = command.type === 'SendMessage' ? command.clientMessageId : undefined;
            const first = state.seq + 1;
            state = events.reduce(
              (s, event, i) => evolve(s, { event, seq: first + i, ...(clientMessageId ? { clientMessageId } : {}) }),
              state,
            );
            writes.push(...toNewEvents(events, { ...context, ...(clientMessageId ? { clientMessageId } : {}) }));
            results.push({ conversationId, seq: state.seq, events, withheld });
          } catch (error) {
            results.push(error instanceof Error ? error : new Error(String(error)));
          }
        }
        let checkpoint: Checkpoint | undefined;
        if (writes.length > 0) {
          const expected = start.seq < 0 ? 'no_stream' : start.seq;
          checkpoint = await this.withheldAnswers.append(
            async () => (await this.store.append(streamOf(conversationId), writes, expected)).checkpoint,
          );
        } else if (results.some((r) => !(r instanceof Error) && r.withheld)) {
          checkpoint = await this.withheldAnswers.checkpoint();
        }
        this.remember(state);
        batch.forEach((pending, i) => {
          const result = results[i]!;
          if (result instanceof Error) pending.reject(result);
          else {
            const { withheld, ...outcome } = result;
            pending.resolve({ ...outcome, checkpoint: withheld || outcome.events.length > 0 ? checkpoint : undefined });
          }
        });
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  /** A conversation may only name users who exist. */
  private async refuseUnknownUsers(command: ConversationCommand): Promise<void> {
    const listed =
      command.type === 'StartDirectConversation'
        ? [command.otherUserId]
        : command.type === 'CreateGroup'
          ? command.memberIds
          : command.type === 'InviteMember'
            ? [command.userId]
            : [];
    const named = [...new Set(listed)].filter((id) => id !== command.actorId);
    const exists = await Promise.all(named.map((id) => this.people.exists(id)));
    const unknown = named.filter((_, i) => !exists[i]);
    if (unknown.length > 0) {
      throw new ConversationError('USER.NOT_FOUND', `No such user: ${unknown.slice(0, 10).join(', ')}`);
    }
  }

  /**
   * The blocks a batch is decided with, per actor: whether the other member of the direct
   * conversation (from its state, or from a start in the batch) has blocked them. Groups
   * need none.
   */
  private async blocksOf(batch: readonly Pending[], state: Conversation): Promise<Map<string, Blocks>> {
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
    const found = await Promise.all(
      [...pairs.values()].map(({ actor, other }) => this.people.hasBlocked(other, actor)),
    );
    const blocks = new Map<string, Blocks>();
    [...pairs.values()].forEach(({ actor, other }, i) => {
      if (!found[i]) return;
      const blockedBy = new Set(blocks.get(actor)?.blockedBy).add(other);
      blocks.set(actor, { blockedBy });
    });
    return blocks;
  }

  /**
   * Moves the caller's read marker (or delivery receipt) in a conversation to `upToSeq`.
   * Receipts go to the user's own stream, not the conversation's: reading costs a busy
   * group nothing, and the inbox projection keeps only the furthest marker.
   */
  async receipt(
    kind: 'read' | 'delivered',
    conversationId: string,
    upToSeq: number,
    context: CommandContext,
  ): Promise<{ checkpoint: Checkpoint }> {
    const state = await this.state(conversationId);
    if (!state.members.has(context.actorId)) throw notFound();
    if (upToSeq > state.seq) {
      throw new ConversationError(
        'CONVERSATION.INVALID',
        `This conversation has no seq ${upToSeq} yet (last: ${state.seq})`,
      );
    }
    const data = { userId: context.actorId, conversationId, upToSeq };
    return this.appendOwn(
      kind === 'read' ? { type: 'ConversationRead', data } : { type: 'MessagesDelivered', data },
      context,
    );
  }

  /**
   * Mutes or unmutes a conversation for the caller (until a time, or until unmuted). A mute
   * is the member's own business: it goes to their stream, never to the other members.
   */
  async mute(
    conversationId: string,
    mute: { muted: boolean; until?: string | null },
    context: CommandContext,
  ): Promise<{ checkpoint: Checkpoint }> {
    const state = await this.state(conversationId);
    if (!state.members.has(context.actorId)) throw notFound();
    const data = {
      conversationId,
      userId: context.actorId,
      muted: mute.muted,
      ...(mute.muted ? { until: mute.until ?? null } : {}),
    };
    return this.appendOwn({ type: 'ConversationMuteChanged', data }, context);
  }

  private async appendOwn(event: EventIn<'receipts'>, context: CommandContext): Promise<{ checkpoint: Checkpoint }> {
    const result = await this.store.append(`receipts-${context.actorId}`, toNewEvents([event], context), 'any');
    return { checkpoint: result.checkpoint };
  }

  /**
   * The state for a query's authorization (members only), caught up with the stream.
   * Concurrent callers share one read: a thousand sockets syncing one group read it once.
   */
  state(conversationId: string): Promise<Conversation> {
    const reading = this.reading.get(conversationId);
    if (reading) return reading;
    const read = this.catchUp(conversationId).finally(() => this.reading.delete(conversationId));
    this.reading.set(conversationId, read);
    return read;
  }

  private async catchUp(conversationId: string): Promise<Conversation> {
    let state = this.states.get(conversationId) ?? initialConversation(conversationId);
    for (;;) {
      let page;
      try {
        page = await this.store.readStream(streamOf(conversationId), { from: state.seq + 1, limit: 1000 });
      } catch (error) {
        if (error instanceof StreamNotFound) break;
        throw error;
      }
      for (const recorded of page) {
        const { data } = readEvent(recorded);
        const clientMessageId = recorded.metadata.clientMessageId;
        state = evolve(state, {
          event: { type: recorded.type, data } as ConversationEvent,
          seq: recorded.streamRevision,
          ...(clientMessageId !== undefined ? { clientMessageId } : {}),
        });
      }
      if (page.length < 1000) break;
    }
    // A conversation that does not exist is not cached: ids named at random (a socket's sync)
    // would otherwise push the states of real ones out.
    if (state.seq >= 0) this.remember(state);
    return state;
  }

  private remember(state: Conversation): void {
    // A read that started before a write may end after it: keep the newer state.
    const cached = this.states.get(state.id);
    if (cached && cached.seq > state.seq) return;
    // Least recently used goes first: a Map iterates in insertion order.
    if (cached) this.forget(cached);
    this.states.set(state.id, state);
    this.cachedEntries += entries(state);
    while (this.cachedEntries > this.cacheEntries && this.states.size > 1) {
      this.forget(this.states.values().next().value!);
    }
  }

  private forget(state: Conversation): void {
    this.states.delete(state.id);
    this.cachedEntries -= entries(state);
  }
}

const entries = (state: Conversation): number =>
  1 + state.members.size + state.invited.size + state.messages.size + state.sent.size;

export { ConversationError };
