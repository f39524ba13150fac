/**
 * The identity reads the API dispatches on the QueryBus, and their handlers. They read the
 * users' own streams (through IdentityService's cache), not a read model: a profile and a
 * block are the write side's current state, which is what authorization must rely on.
 */
import { IdentityService, type Profile } from '@herald/identity';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';

/** A registered user's public profile (USER.NOT_FOUND otherwise). */
export class GetProfile extends Query<Profile> {
  constructor(readonly userId: string) {
    super();
  }
}

/** Whether `blockerId` has blocked `blockedId`. */
export class HasBlocked extends Query<boolean> {
  constructor(
    readonly blockerId: string,
    readonly blockedId: string,
  ) {
    super();
  }
}

@QueryHandler(GetProfile)
export class GetProfileHandler implements IQueryHandler<GetProfile> {
  constructor(private readonly identity: IdentityService) {}

  execute({ userId }: GetProfile): Promise<Profile> {
    return this.identity.profile(userId);
  }
}

@QueryHandler(HasBlocked)
export class HasBlockedHandler implements IQueryHandler<HasBlocked> {
  constructor(private readonly identity: IdentityService) {}

  execute({ blockerId, blockedId }: HasBlocked): Promise<boolean> {
    return this.identity.hasBlocked(blockerId, blockedId);
  }
}

export const IDENTITY_QUERY_HANDLERS = [GetProfileHandler, HasBlockedHandler];
