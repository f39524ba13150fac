import { readEvent, type CatalogueEvent } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

/** Where an event stands: its seq (stream revision) and when it was decided (never the clock). */
export interface Place {
  readonly seq: number;
  readonly occurredAt: string;
}

/** A projection's apply that reads each event through the catalogue (upcast, checked) in order. */
export function eachEvent<E extends CatalogueEvent>(
  applyOne: (manager: EntityManager, event: E, place: Place) => Promise<void>,
): Projection['apply'] {
  return async (events, manager) => {
    for (const recorded of events) {
      const { data } = readEvent(recorded);
      await applyOne(manager, { type: recorded.type, data } as E, {
        seq: recorded.streamRevision,
        occurredAt: recorded.metadata.occurredAt,
      });
    }
  };
}
