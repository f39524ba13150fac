/**
 * Who may see whose presence, read through the QueryBus: a user may see themselves, their
 * contacts and the members of conversations they are in, unless either has blocked the
 * other. Composed from the directory read model (contacts, blocks) and the membership one
 * (shared conversations), each read by its own folder's query.
 */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { relations, shareAConversation } from '@herald/projections';
import { DataSource } from 'typeorm';

/** Of these (user, watcher) pairs, the `watcher user` keys of the watchers that may see the user. */
export class MayWatchPresence extends Query<Set<string>> {
  constructor(readonly pairs: readonly (readonly [string, string])[]) {
    super();
  }
}

@QueryHandler(MayWatchPresence)
export class MayWatchPresenceHandler implements IQueryHandler<MayWatchPresence> {
  constructor(private readonly db: DataSource) {}

  async execute({ pairs }: MayWatchPresence): Promise<Set<string>> {
    const byWatcher = pairs.map(([userId, watcher]) => [watcher, userId] as const);
    const [related, members] = await Promise.all([
      relations(this.db, byWatcher),
      shareAConversation(this.db, byWatcher),
    ]);
    const key = (watcher: string, userId: string): string => `${watcher} ${userId}`;
    const shared = new Set(members.map((m) => key(m.userId, m.otherId)));
    return new Set(
      related
        .filter((r) => !r.blocked && (r.userId === r.otherId || r.contacts || shared.has(key(r.userId, r.otherId))))
        .map((r) => key(r.userId, r.otherId)),
    );
  }
}
