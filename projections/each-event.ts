import { readEvent, type CatalogueEvent, type EventIn } from '@herald/events';
import type { Projection } from '@herald/projection-runtime';
import type { EntityManager } from 'typeorm';

/** Where an event stands: its seq (stream revision) and when it was decided (never the clock). */
export interface Place {
  readonly seq: number;
  readonly occurredAt: string;
}

/** A message sent, where it stands. */
export interface Sent extends Place {
  readonly data: Extract<EventIn<'conversation'>, { type: 'MessageSent' }>['data'];
}

/**
 * A projection's apply that reads each event through the catalogue (upcast, checked) in
 * order. With `applySent`, consecutive MessageSent events go to it together: a busy log is
 * mostly sends, and a few statements per run rather than per message is what keeps the
 * projections up with thousands of sends a second.
 */
export function eachEvent<E extends CatalogueEvent>(
  applyOne: (manager: EntityManager, event: E, place: Place) => Promise<void>,
  applySent?: (manager: EntityManager, sent: readonly Sent[]) => Promise<void>,
): Projection['apply'] {
  return async (events, manager) => {
    let run: Sent[] = [];
    for (const recorded of events) {
      const { data } = readEvent(recorded);
      const place = { seq: recorded.streamRevision, occurredAt: recorded.metadata.occurredAt };
      if (applySent && recorded.type === 'MessageSent') {
        run.push({ data: data as Sent['data'], ...place });
        continue;
      }
      if (run.length > 0) await applySent!(manager, run);
      run = [];
      await applyOne(manager, { type: recorded.type, data } as E, place);
    }
    if (run.length > 0) await applySent!(manager, run);
  };
}
