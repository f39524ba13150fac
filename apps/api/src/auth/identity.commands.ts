/**
 * The identity commands the API dispatches on the CommandBus (sign-up, sign-in, tokens,
 * profiles, contacts, blocks), and their handlers: the edge between HTTP and the identity
 * context. Each command's class carries its answer's type; the decisions stay in the
 * framework-free domain, run by IdentityService through the command pipeline.
 */
import type { Checkpoint } from '@herald/event-store';
import {
  IdentityService,
  type AccessClaims,
  type ContactState,
  type Device,
  type Profile,
  type RequestContext,
  type Tokens,
  type UpdateProfile,
} from '@herald/identity';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';

export class RegisterCommand extends Command<Tokens> {
  constructor(
    readonly input: { readonly username: string; readonly password: string; readonly displayName: string } & Device,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class SignInCommand extends Command<Tokens> {
  constructor(
    readonly input: { readonly username: string; readonly password: string } & Device,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class RefreshCommand extends Command<Tokens> {
  constructor(
    readonly refreshToken: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class SignOutCommand extends Command<void> {
  constructor(
    readonly caller: AccessClaims,
    readonly request: RequestContext,
  ) {
    super();
  }
}

/** Signs out one of the caller's sessions (another device); answers its checkpoint, null when it had ended. */
export class SignOutSessionCommand extends Command<Checkpoint | null> {
  constructor(
    readonly caller: AccessClaims,
    readonly sessionId: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class UpdateProfileCommand extends Command<Profile> {
  constructor(
    readonly userId: string,
    readonly changes: UpdateProfile,
    readonly request: RequestContext,
  ) {
    super();
  }
}

/** Blocks or unblocks a user; answers the change's checkpoint, null when nothing changed. */
export class ChangeBlockCommand extends Command<Checkpoint | null> {
  constructor(
    readonly blocked: boolean,
    readonly userId: string,
    readonly otherId: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

export class ChangeContactCommand extends Command<{ status: ContactState['status']; checkpoint: Checkpoint | null }> {
  constructor(
    readonly type: 'Request' | 'Accept' | 'Decline' | 'Remove',
    readonly actorId: string,
    readonly otherId: string,
    readonly request: RequestContext,
  ) {
    super();
  }
}

@CommandHandler(RegisterCommand)
export class RegisterHandler implements ICommandHandler<RegisterCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ input, request }: RegisterCommand): Promise<Tokens> {
    return this.identity.register(input, request);
  }
}

@CommandHandler(SignInCommand)
export class SignInHandler implements ICommandHandler<SignInCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ input, request }: SignInCommand): Promise<Tokens> {
    return this.identity.signIn(input, request);
  }
}

@CommandHandler(RefreshCommand)
export class RefreshHandler implements ICommandHandler<RefreshCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ refreshToken, request }: RefreshCommand): Promise<Tokens> {
    return this.identity.refresh(refreshToken, request);
  }
}

@CommandHandler(SignOutCommand)
export class SignOutHandler implements ICommandHandler<SignOutCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ caller, request }: SignOutCommand): Promise<void> {
    return this.identity.signOut(caller, request);
  }
}

@CommandHandler(SignOutSessionCommand)
export class SignOutSessionHandler implements ICommandHandler<SignOutSessionCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ caller, sessionId, request }: SignOutSessionCommand): Promise<Checkpoint | null> {
    return this.identity.signOutSession(caller, sessionId, request);
  }
}

@CommandHandler(UpdateProfileCommand)
export class UpdateProfileHandler implements ICommandHandler<UpdateProfileCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ userId, changes, request }: UpdateProfileCommand): Promise<Profile> {
    return this.identity.updateProfile(userId, changes, request);
  }
}

@CommandHandler(ChangeBlockCommand)
export class ChangeBlockHandler implements ICommandHandler<ChangeBlockCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ blocked, userId, otherId, request }: ChangeBlockCommand): Promise<Checkpoint | null> {
    return blocked ? this.identity.block(userId, otherId, request) : this.identity.unblock(userId, otherId, request);
  }
}

@CommandHandler(ChangeContactCommand)
export class ChangeContactHandler implements ICommandHandler<ChangeContactCommand> {
  constructor(private readonly identity: IdentityService) {}
  execute({ type, actorId, otherId, request }: ChangeContactCommand) {
    return this.identity.contact(type, actorId, otherId, request);
  }
}

export const IDENTITY_COMMAND_HANDLERS = [
  RegisterHandler,
  SignInHandler,
  RefreshHandler,
  SignOutHandler,
  SignOutSessionHandler,
  UpdateProfileHandler,
  ChangeBlockHandler,
  ChangeContactHandler,
];
