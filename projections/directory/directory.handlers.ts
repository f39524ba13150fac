/** The API's reads of directory.v1 through the QueryBus: users by name, a user's contacts and blocks. */
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import {
  blocksOf,
  contactRequestsOf,
  contactsOf,
  usersNamed,
  type Contact,
  type ContactRequest,
  type DirectoryProfile,
} from './directory.queries.js';

/** A user by their exact user name, any case (no search: names are not to be listed by prefix). */
export class FindUsers extends Query<{ users: DirectoryProfile[] }> {
  constructor(readonly username: string) {
    super();
  }
}

@QueryHandler(FindUsers)
export class FindUsersHandler implements IQueryHandler<FindUsers> {
  constructor(private readonly db: DataSource) {}

  async execute({ username }: FindUsers): Promise<{ users: DirectoryProfile[] }> {
    return { users: await usersNamed(this.db, username.toLowerCase()) };
  }
}

interface UserPage {
  readonly cursor?: string;
  readonly limit: number;
}

export class GetContacts extends Query<{ contacts: Contact[]; nextCursor: string | null }> {
  constructor(
    readonly userId: string,
    readonly page: UserPage,
  ) {
    super();
  }
}

@QueryHandler(GetContacts)
export class GetContactsHandler implements IQueryHandler<GetContacts> {
  constructor(private readonly db: DataSource) {}

  execute({ userId, page }: GetContacts): Promise<{ contacts: Contact[]; nextCursor: string | null }> {
    return contactsOf(this.db, userId, page);
  }
}

/** The caller's pending contact requests, received and sent. */
export class GetContactRequests extends Query<{ requests: ContactRequest[]; nextCursor: string | null }> {
  constructor(
    readonly userId: string,
    readonly page: UserPage,
  ) {
    super();
  }
}

@QueryHandler(GetContactRequests)
export class GetContactRequestsHandler implements IQueryHandler<GetContactRequests> {
  constructor(private readonly db: DataSource) {}

  execute({ userId, page }: GetContactRequests): Promise<{ requests: ContactRequest[]; nextCursor: string | null }> {
    return contactRequestsOf(this.db, userId, page);
  }
}

export class GetBlocks extends Query<{ blocks: { userId: string }[]; nextCursor: string | null }> {
  constructor(
    readonly userId: string,
    readonly page: UserPage,
  ) {
    super();
  }
}

@QueryHandler(GetBlocks)
export class GetBlocksHandler implements IQueryHandler<GetBlocks> {
  constructor(private readonly db: DataSource) {}

  execute({ userId, page }: GetBlocks): Promise<{ blocks: { userId: string }[]; nextCursor: string | null }> {
    return blocksOf(this.db, userId, page);
  }
}
