/** The filter of `readAll` and `subscribeToAll`, applied in memory (the shared tail, the in-memory adapter). */
import type { EventFilter, RecordedEvent } from './types.js';

/** Every condition the filter gives holds. */
export function matches(event: Pick<RecordedEvent, 'type' | 'streamId'>, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))) {
    return false;
  }
  return true;
}
