/**
 * The one command pipeline every context runs its commands through: load the stream's
 * state (from the cache, caught up with the stream) → decide → append at the expected
 * revision → on a lost race, all of it again. Deciders stay pure: a fact that needs I/O
 * (does a user exist, is there a block) is fetched before deciding, on every attempt, and
 * passed to the decider. Contexts that batch commands (conversations) use the same parts:
 * `cached`/`load`, `next`, `append`, `remember`.
 */
import type { CatalogueEvent } from '@herald/events';
import type { AppendResult, EventStore, ExpectedRevision, NewEvent } from '@herald/event-store';
import type { StateCache } from './state-cache.js';
import {
  fold,
  retryOnConflict,
  toNewEvents,
  type CommandContext,
  type Evolve,
  type Folded,
  type WithheldAnswers,
} from './stream.js';

/** What the pipeline needs to know of one kind of stream: its name for an id, and its fold. */
export interface StreamFold<S, E> {
  readonly streamOf: (id: string) => string;
  readonly initialState: (id: string) => S;
  readonly evolve: Evolve<S, E>;
}

export interface Handled<S, D> {
  /** What the decide step answered. */
  readonly decision: D;
  /** The state after the command: the one before when nothing was written. */
  readonly state: S;
  /** The append; null when nothing was written. */
  readonly appended: AppendResult | null;
}

export class CommandPipeline<S, E extends CatalogueEvent> {
  constructor(
    private readonly store: EventStore,
    private readonly stream: StreamFold<S, E>,
    private readonly options: {
      /** Keeps recent states, so a command on a long stream reads only what is new. */
      readonly cache?: StateCache<S>;
      /** Learns how long appends take, for withheld commands' answers. */
      readonly appends?: WithheldAnswers;
    } = {},
  ) {}

  /**
   * Runs one command: `decide`, pure, gets the current state (and the facts `facts` fetched
   * for that state, when the command needs any) and answers the events to write in
   * `events`; a lost race runs it all again on the winner's state, facts included. The
   * context may depend on the state (whose session a token is).
   */
  handle<D extends { readonly events: readonly E[] }>(
    id: string,
    decide: (state: S) => D,
    context: CommandContext | ((state: S) => CommandContext),
  ): Promise<Handled<S, D>>;
  handle<D extends { readonly events: readonly E[] }, F>(
    id: string,
    decide: (state: S, facts: F) => D,
    context: CommandContext | ((state: S) => CommandContext),
    facts: (state: S) => Promise<F>,
  ): Promise<Handled<S, D>>;
  handle<D extends { readonly events: readonly E[] }, F>(
    id: string,
    decide: (state: S, facts?: F) => D,
    context: CommandContext | ((state: S) => CommandContext),
    facts?: (state: S) => Promise<F>,
  ): Promise<Handled<S, D>> {
    return retryOnConflict(async () => {
      const before = await this.load(id);
      const decision = decide(before.state, facts ? await facts(before.state) : undefined);
      if (decision.events.length === 0) return { decision, state: before.state, appended: null };
      const written = typeof context === 'function' ? context(before.state) : context;
      const appended = await this.append(id, toNewEvents(decision.events, written), before.revision);
      const after = this.next(before, decision.events, written);
      this.remember(id, after);
      return { decision, state: after.state, appended };
    });
  }

  /** The cached state as this process last saw it: current unless another process wrote since. */
  cached(id: string): Folded<S> | undefined {
    return this.options.cache?.get(id);
  }

  /** The state caught up with the stream (from the cached one: only what is new is read). */
  async load(id: string): Promise<Folded<S>> {
    const { streamOf, initialState, evolve } = this.stream;
    const folded = await fold(this.store, streamOf(id), initialState(id), evolve, this.cached(id));
    this.remember(id, folded);
    return folded;
  }

  /** The state once `events` are appended after `folded` with this context, as a fold would read them. */
  next(folded: Folded<S>, events: readonly E[], context: CommandContext): Folded<S> {
    const first = folded.revision === 'no_stream' ? 0 : folded.revision + 1;
    const occurredAt = context.now.toISOString();
    const { clientMessageId } = context;
    const state = events.reduce(
      (s, event, i) =>
        this.stream.evolve(s, event, { seq: first + i, occurredAt, ...(clientMessageId ? { clientMessageId } : {}) }),
      folded.state,
    );
    return { state, revision: events.length > 0 ? first + events.length - 1 : folded.revision };
  }

  append(id: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const write = () => this.store.append(this.stream.streamOf(id), events, expected);
    return this.options.appends ? this.options.appends.append(write) : write();
  }

  remember(id: string, folded: Folded<S>): void {
    this.options.cache?.remember(id, folded);
  }
}
