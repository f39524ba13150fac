/**
 * Given/when/then for deciders (Emmett's DeciderSpecification): given these events, when
 * this command (with the facts the caller would have looked up), then these events, or this
 * error. One helper for every context's decider tests; each case is its own test.
 */
import { expect } from 'vitest';

export interface DeciderUnderTest<C, S, E, R, F extends unknown[]> {
  readonly decide: (command: C, state: S, ...facts: F) => R;
  /** Folds the given events; `index` is each one's place in the stream (its seq). */
  readonly evolve: (state: S, event: E, index: number) => S;
  readonly initialState: () => S;
}

export function deciderSpecification<C, S, E, R, F extends unknown[] = []>(decider: DeciderUnderTest<C, S, E, R, F>) {
  return {
    given: (...events: E[]) => {
      const state = events.reduce<S>((s, event, index) => decider.evolve(s, event, index), decider.initialState());
      return {
        when: (command: C, ...facts: F) => {
          const decide = () => decider.decide(command, state, ...facts);
          return {
            /** What the decider answers (events, or the decision that holds them). */
            then: (expected: R): void => expect(decide()).toEqual(expected),
            /** A broken rule: an error with this code. */
            thenThrows: (code: string): void => expect(decide).toThrow(expect.objectContaining({ code }) as Error),
          };
        },
      };
    },
  };
}
