/**
 * The API's rate limits, one set per process, shared by the HTTP guard and the WebSocket
 * handshake: per client IP on every request and handshake, per user once signed in, and a
 * tight one per IP on sign-up and sign-in against password guessing.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { HeraldConfig } from '@herald/config';
import { RateLimiter } from '@herald/nest';
import { CONFIG } from '../tokens.js';

@Injectable()
export class RateLimits {
  readonly perIp: RateLimiter;
  readonly perUser: RateLimiter;
  readonly signIns: RateLimiter;
  /** GET /search, per user: bursts of two seconds' worth. */
  readonly searches: RateLimiter;

  constructor(@Inject(CONFIG) config: HeraldConfig) {
    // Bursts of three seconds' worth.
    this.perIp = new RateLimiter(config.rateLimitIpPerSecond, config.rateLimitIpPerSecond * 3);
    this.perUser = new RateLimiter(config.rateLimitUserPerSecond, config.rateLimitUserPerSecond * 3);
    this.searches = new RateLimiter(config.rateLimitSearchPerSecond, config.rateLimitSearchPerSecond * 2);
    this.signIns = new RateLimiter(config.rateLimitSignInPerMinute / 60, config.rateLimitSignInPerMinute);
  }
}
