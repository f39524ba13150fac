/**
 * The personal fields of each event type, as the catalogue marks them (`personal()`, the
 * JSON Schemas' `x-personal`): the paths whose values enter an event's hash as salted
 * digests (ADR 030). A type the catalogue does not know has none.
 */
import { EVENTS, eventJsonSchema, personalFields } from '@herald/events';

let byType: Map<string, readonly string[]> | undefined;

export function cataloguePersonalFields(type: string): readonly string[] {
  if (!byType) {
    byType = new Map();
    for (const definition of EVENTS) {
      const data = (eventJsonSchema(definition).properties as Record<string, Record<string, unknown>>).data!;
      const paths = personalFields(data);
      // The newest version's fields: stored events of older versions have the same or fewer.
      const known = byType.get(definition.type);
      if (!known || paths.length >= known.length) byType.set(definition.type, paths);
    }
  }
  return byType.get(type) ?? [];
}
