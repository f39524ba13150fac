/**
 * Every route needs a signed-in caller unless it is marked @Public(): authorization is
 * denied by default. The caller (user and session) is checked on every request, so a
 * revoked session stops working within a second.
 */
import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IdentityError, IdentityService, type AccessClaims } from '@herald/identity';
import { JsonLogger } from '@herald/nest';
import type { FastifyRequest } from 'fastify';

const PUBLIC = 'herald:public';
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

type WithCaller = FastifyRequest & { caller?: AccessClaims };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly identity: IdentityService,
    private readonly logger: JsonLogger,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<WithCaller>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    try {
      if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'Sign in: send Authorization: Bearer <access token>');
      request.caller = await this.identity.authenticate(token, new Date());
      return true;
    } catch (error) {
      // Recorded for the security log: where and why, never the token.
      const code = error instanceof IdentityError ? error.code : 'AUTH.INVALID_TOKEN';
      this.logger.emit('warn', `authentication refused: ${code}`, 'Auth', undefined, {
        method: request.method,
        route: request.routeOptions.url,
        ip: request.ip,
      });
      throw error;
    }
  }
}

/** The signed-in caller of a route (the guard has checked it). */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): AccessClaims => {
  const caller = context.switchToHttp().getRequest<WithCaller>().caller;
  if (!caller) throw new IdentityError('AUTH.INVALID_TOKEN', 'Not signed in');
  return caller;
});
