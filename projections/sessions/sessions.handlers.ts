/** The API's reads of sessions.v1 through the QueryBus: the caller's own sessions, never anyone else's. */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { activeSessionsOf, type SessionSummary } from './sessions.queries.js';

export interface SessionsPage {
  readonly sessions: (SessionSummary & { readonly current: boolean })[];
  readonly nextCursor: string | null;
}

export class GetSessions extends Query<SessionsPage> {
  constructor(
    readonly userId: string,
    /** The session the caller asks from: marked `current`. */
    readonly sessionId: string,
    readonly page: { readonly cursor?: string; readonly limit: number },
  ) {
    super();
  }
}

@QueryHandler(GetSessions)
export class GetSessionsHandler implements IQueryHandler<GetSessions> {
  constructor(private readonly db: DataSource) {}

  async execute({ userId, sessionId, page }: GetSessions): Promise<SessionsPage> {
    const { sessions, nextCursor } = await activeSessionsOf(this.db, userId, page);
    return { sessions: sessions.map((s) => ({ ...s, current: s.sessionId === sessionId })), nextCursor };
  }
}
