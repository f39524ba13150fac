/**
 * Every route needs a signed-in caller unless it is marked @Public(): authorization is
 * denied by default. The caller (user and session) is checked on every request, so a
 * revoked session stops working within a second. Rate limits apply here too: per client
 * IP on every route (an IPv6 client's /64: rateLimitKey), per user once signed in, and a tight one per IP on sign-up and
 * sign-in (@SignInLimited) against password guessing.
 */
import { createParamDecorator, Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { IdentityError, IdentityService, type AccessClaims } from '@herald/identity';
import { rateLimitKey } from '@herald/nest';
import { RateLimits } from './rate-limits.js';
import type { FastifyRequest } from 'fastify';

const PUBLIC = 'herald:public';
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);
const SIGN_IN = 'herald:sign-in';
export const SignInLimited = (): MethodDecorator => SetMetadata(SIGN_IN, true);

type WithCaller = FastifyRequest & { caller?: AccessClaims };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly identity: IdentityService,
    private readonly limits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<WithCaller>();
    const ipKey = rateLimitKey(request.ip);
    this.limits.perIp.take(ipKey);
    if (this.reflector.get<boolean>(SIGN_IN, context.getHandler())) this.limits.signIns.take(ipKey);
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    // A refusal is recorded for the security log by the exception filter, as every 401 is.
    if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'Sign in: send Authorization: Bearer <access token>');
    request.caller = await this.identity.authenticate(token, new Date());
    this.limits.perUser.take(request.caller.userId);
    return true;
  }
}

/** The signed-in caller of a route (the guard has checked it). */
export const Caller = createParamDecorator((_: unknown, context: ExecutionContext): AccessClaims => {
  const caller = context.switchToHttp().getRequest<WithCaller>().caller;
  if (!caller) throw new IdentityError('AUTH.INVALID_TOKEN', 'Not signed in');
  return caller;
});
