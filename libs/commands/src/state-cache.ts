/**
 * The command side's one cache of stream states: recently used folds, the least recently
 * used dropped first, bounded by a total weight (a state's weight is what it holds, so a
 * cache of conversations is bounded by members and messages, not by their count).
 */
import type { Folded } from './stream.js';

export class StateCache<S> {
  private readonly entries = new Map<string, { readonly folded: Folded<S>; readonly weight: number }>();
  private weight = 0;

  constructor(
    /** The total weight the cache holds at most (one entry stays, whatever it weighs). */
    private readonly capacity: number,
    private readonly weigh: (state: S) => number = () => 1,
  ) {}

  get(id: string): Folded<S> | undefined {
    return this.entries.get(id)?.folded;
  }

  remember(id: string, folded: Folded<S>): void {
    // A stream that does not exist is not cached: ids named at random (a socket's sync, a
    // lookup of a user who is none) would otherwise push the states of real ones out.
    if (folded.revision === 'no_stream') return;
    const cached = this.entries.get(id);
    // A read that started before a write may end after it: keep the newer state.
    if (cached && cached.folded.revision !== 'no_stream' && cached.folded.revision > folded.revision) return;
    // A Map iterates in insertion order: re-inserting makes this the most recently used.
    if (cached) this.forget(id);
    const weight = this.weigh(folded.state);
    this.entries.set(id, { folded, weight });
    this.weight += weight;
    while (this.weight > this.capacity && this.entries.size > 1) this.forget(this.entries.keys().next().value!);
  }

  private forget(id: string): void {
    this.weight -= this.entries.get(id)?.weight ?? 0;
    this.entries.delete(id);
  }
}
