import { readEvent, type CatalogueEvent, type EventIn } from '@herald/events';
import type { RecordedEvent } from '@herald/event-store';
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

/** An event of a batch as the catalogue reads it (upcast, checked), where it stands. */
export type Placed<E extends CatalogueEvent> = Place & { readonly event: E };

/** A batch's events read through the catalogue, in order. */
export function readEach<E extends CatalogueEvent>(events: readonly RecordedEvent[]): Placed<E>[] {
  return events.map((recorded) => ({
    event: { type: recorded.type, data: readEvent(recorded).data } as E,
    seq: recorded.streamRevision,
    occurredAt: recorded.metadata.occurredAt,
  }));
}

/**
 * A projection's apply that reads each event through the catalogue (upcast, checked) in
 * order. With `applySent`, consecutive MessageSent events go to it together: a busy log is
 * mostly sends, and a few statements per run rather than per message is what keeps the
 * projections up with thousands of sends a second. (Timeline and inbox go further: their
 * apply folds the whole batch, `readEach`.)
 */
export function eachEvent<E extends CatalogueEvent>(
  applyOne: (manager: EntityManager, event: E, place: Place) => Promise<void>,
  applySent?: (manager: EntityManager, sent: readonly Sent[]) => Promise<void>,
): Projection['apply'] {
  return async (events, manager) => {
    let run: Sent[] = [];
    for (const { event, ...place } of readEach<E>(events)) {
      if (applySent && event.type === 'MessageSent') {
        run.push({ data: event.data, ...place });
        continue;
      }
      if (run.length > 0) await applySent!(manager, run);
      run = [];
      await applyOne(manager, event, place);
    }
    if (run.length > 0) await applySent!(manager, run);
  };
}
