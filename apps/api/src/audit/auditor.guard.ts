/**
 * The audit API is for auditors only, and hidden from everyone else: a request without a
 * valid token, or from a user who is not an auditor, is answered exactly as a route that
 * does not exist (404 REQUEST.NOT_FOUND), and the refusal goes to the security log as every
 * authorization refusal does (level warn, context Auth). The routes are @Public() so that
 * the global AuthGuard's 401 does not reveal them to the anonymous; this guard
 * authenticates itself. The role is read from the user's stream on every request, so a
 * revocation holds from the next request. Being @Public(), the routes also skip the global
 * guard's per-user rate limit: this guard takes it once the caller is known to be an
 * auditor (an audit read can be costly, an as-of read folds up to 100,000 events), and not
 * before, so that nobody else is ever answered anything but the missing route.
 */
import { Injectable, NotFoundException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { IdentityService, SystemRoles, type AccessClaims } from '@herald/identity';
import { correlationOfRequest, JsonLogger } from '@herald/nest';
import type { FastifyRequest } from 'fastify';
import { RateLimits } from '../auth/rate-limits.js';

type WithCaller = FastifyRequest & { caller?: AccessClaims };

@Injectable()
export class AuditorGuard implements CanActivate {
  constructor(
    private readonly identity: IdentityService,
    private readonly roles: SystemRoles,
    private readonly logger: JsonLogger,
    private readonly limits: RateLimits,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<WithCaller>();
    const header = request.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    let caller: AccessClaims | undefined;
    if (token) {
      try {
        caller = await this.identity.authenticate(token, new Date());
      } catch {
        caller = undefined;
      }
    }
    if (caller && (await this.roles.hasSystemRole(caller.userId, 'auditor'))) {
      request.caller = caller;
      this.limits.perUser.take(caller.userId);
      return true;
    }
    // Who, where and why: never a token.
    this.logger.emit('warn', `authorization refused: AUDIT.NOT_AN_AUDITOR`, 'Auth', undefined, {
      correlationId: correlationOfRequest(request).correlationId,
      userId: caller?.userId,
      method: request.method,
      route: request.routeOptions.url,
      params: request.params,
      ip: request.ip,
    });
    throw new NotFoundException();
  }
}
