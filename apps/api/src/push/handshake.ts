/**
 * Who a socket is, and for how long: the upgrade's checks (path, the IP's rate limit, an
 * allowed Origin, the access token from `Authorization: Bearer` or `?access_token=` for
 * browsers, which cannot set headers, MAX_SOCKETS_PER_USER), the `auth` frame that swaps in
 * a fresh token of the same user, and the close when the socket's token expires.
 */
import { IdentityError, type AccessClaims, type IdentityService } from '@herald/identity';
import {
  clientAddress,
  correlationOf,
  rateLimitKey,
  RateLimited,
  type JsonLogger,
  type ProxyTrust,
  type RateLimiter,
} from '@herald/nest';
import { decodeJwt } from 'jose';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CLOSE } from './frames.js';
import { FairGate } from './budgets.js';
import { MAX_CONCURRENT_HANDSHAKES, MAX_SOCKETS_PER_USER, MAX_WAITING_HANDSHAKES } from './limits.js';
import type { Peer, PushClient, PushClients } from './push-client.js';

/** A handshake let through: the socket may be opened as `caller`. */
export interface Admitted {
  readonly caller: AccessClaims;
  readonly token: string;
  readonly peer: Peer;
}

export interface HandshakeOptions {
  readonly identity: Pick<IdentityService, 'authenticate'>;
  /** The per-IP rate limit shared with REST. */
  readonly limits: { readonly perIp: Pick<RateLimiter, 'take'> };
  readonly allowedOrigins: readonly string[];
  readonly logger: Pick<JsonLogger, 'emit'>;
  readonly clients: Pick<PushClients, 'socketsOf' | 'reauthenticated'>;
  /** TRUST_PROXY's proxies: behind them, the client is who X-Forwarded-For names. */
  readonly trust: ProxyTrust;
  /** Handshakes authenticated at once, and waiting (MAX_CONCURRENT_HANDSHAKES, MAX_WAITING_HANDSHAKES). */
  readonly maxConcurrent?: number;
  readonly maxWaiting?: number;
}

export class Handshake {
  /** Handshakes being authenticated, and waiting to be. */
  private readonly admissions: FairGate;
  private readonly expiries = new Expiries((client) =>
    client.socket.close(CLOSE.tokenExpired, 'access token expired: reconnect, or send auth before'),
  );

  constructor(private readonly options: HandshakeOptions) {
    this.admissions = new FairGate(
      options.maxConcurrent ?? MAX_CONCURRENT_HANDSHAKES,
      options.maxWaiting ?? MAX_WAITING_HANDSHAKES,
    );
  }

  /** Who the upgrade is from, or undefined when it was refused (answered with an HTTP status). */
  async admit(request: IncomingMessage, socket: Duplex): Promise<Admitted | undefined> {
    const { identity, limits, allowedOrigins, logger, clients } = this.options;
    const url = new URL(request.url ?? '/', 'http://localhost');
    // As a REST request's: from traceparent or x-request-id, else new; on every line about the socket.
    const { correlationId } = correlationOf(request.headers);
    if (url.pathname !== '/ws') return refuse(socket, 404, 'Not Found');
    // Through TRUST_PROXY's proxies, the client behind them, as a REST request's IP.
    const ip = clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], this.options.trust);
    // A handshake counts against its IP's budget as any request does.
    try {
      limits.perIp.take(rateLimitKey(ip));
    } catch (error) {
      if (!(error instanceof RateLimited)) throw error;
      return refuse(socket, 429, 'Too Many Requests', { 'retry-after': String(error.retryAfterSeconds) });
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !allowedOrigins.includes(origin)) {
      logger.emit('warn', 'websocket refused: origin not allowed', 'Push', undefined, { origin, correlationId });
      return refuse(socket, 403, 'Forbidden');
    }
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : (url.searchParams.get('access_token') ?? undefined);
    // A reconnect storm waits its turn here (by client IP, in turn), a bounded line: past it,
    // come back in a second. Nothing of the socket is made before its turn.
    const admission = this.admissions.tryAcquire(ip ?? '');
    if (!admission) return refuse(socket, 503, 'Service Unavailable', { 'retry-after': '1' });
    const release = await admission;
    let caller: AccessClaims;
    try {
      // Gone while it waited: nothing to authenticate.
      if (socket.destroyed) return undefined;
      if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'no token');
      caller = await identity.authenticate(token, new Date());
    } catch (error) {
      // The same line as a REST 401 (the README's security log); a database failure is no refusal.
      if (!(error instanceof IdentityError)) {
        logger.emit(
          'warn',
          `websocket refused: ${error instanceof Error ? error.message : String(error)}`,
          'Push',
          undefined,
          { correlationId },
        );
        return refuse(socket, 503, 'Service Unavailable', { 'retry-after': '1' });
      }
      this.refused(error.code, undefined, { ip, correlationId });
      return refuse(socket, 401, 'Unauthorized');
    } finally {
      release();
    }
    // Counted here and when the socket opens, with no await between (the ws library
    // completes a handshake without one when no verifyClient is set): concurrent handshakes
    // cannot pass the check together.
    if (clients.socketsOf(caller.userId) >= MAX_SOCKETS_PER_USER) {
      logger.emit('warn', 'websocket refused: too many sockets', 'Push', undefined, {
        userId: caller.userId,
        ip,
        correlationId,
      });
      return refuse(socket, 429, 'Too Many Requests');
    }
    return { caller, token, peer: { ip, correlationId } };
  }

  /**
   * An `auth` frame: a fresh token of the socket's user keeps it open until that token
   * expires; any other is refused, and the socket keeps the token it had, and its expiry.
   */
  async reauthenticate(client: PushClient, token: string | undefined): Promise<void> {
    let caller: AccessClaims;
    try {
      if (!token) throw new IdentityError('AUTH.INVALID_TOKEN', 'no token');
      caller = await this.options.identity.authenticate(token, new Date());
      if (caller.userId !== client.caller.userId) {
        throw new IdentityError('AUTH.INVALID_TOKEN', 'a token of another user');
      }
    } catch (error) {
      // A database failure is no refusal: PUSH.UNAVAILABLE (try again), as for any frame.
      if (!(error instanceof IdentityError)) throw error;
      this.refused(error.code, client.caller.userId, client.peer);
      return client.send({
        type: 'error',
        code: 'AUTH.INVALID_TOKEN',
        message: 'Send a valid access token of the user this socket is',
      });
    }
    if (!client.open) return;
    // Its session now (a sign-out of the old one no longer closes it; of the new one does).
    this.options.clients.reauthenticated(client, caller);
    this.expireWith(client, token);
    const { exp } = decodeJwt(token);
    client.send({ type: 'authenticated', expiresAt: new Date((exp ?? 0) * 1000).toISOString() });
  }

  /**
   * Arms the close at the expiry of `token` (verified already): a socket lives no longer
   * than the access token it was opened or last re-authenticated with.
   */
  expireWith(client: PushClient, token: string): void {
    const { exp } = decodeJwt(token);
    this.expiries.arm(client, exp === undefined ? 0 : exp * 1000);
  }

  /** The socket closed: its expiry is forgotten. */
  forget(client: PushClient): void {
    this.expiries.disarm(client);
  }

  /** A refused token, logged as REST logs a 401: who (when known), where from, why; never the token. */
  private refused(code: string, userId: string | undefined, { ip, correlationId }: Peer): void {
    this.options.logger.emit('warn', `authentication refused: ${code}`, 'Push', undefined, {
      userId,
      route: '/ws',
      ip,
      correlationId,
    });
  }
}

function refuse(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): undefined {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
  return undefined;
}

/**
 * When each socket's access token expires: one min-heap of the sockets by `expiresAt`, and
 * one timer armed for the earliest, so that a socket costs a slot in an array, not a timer
 * of its own (ADR 037). A socket re-authenticated moves in the heap; one closed leaves it.
 */
export class Expiries {
  private readonly heap: PushClient[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Infinity: none armed). */
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly expired: (client: PushClient) => void,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Sockets whose expiry is armed. */
  get size(): number {
    return this.heap.length;
  }

  /** The socket's token expires at `at` (ms since the epoch), replacing what it had. */
  arm(client: PushClient, at: number): void {
    client.expiresAt = at;
    if (client.expiryIndex < 0) {
      client.expiryIndex = this.heap.length;
      this.heap.push(client);
    }
    this.fix(client.expiryIndex);
    this.schedule();
  }

  disarm(client: PushClient): void {
    const index = client.expiryIndex;
    if (index < 0) return;
    const last = this.heap.pop()!;
    client.expiryIndex = -1;
    if (last !== client) {
      this.heap[index] = last;
      last.expiryIndex = index;
      this.fix(index);
    }
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    for (let first = this.heap[0]; first && first.expiresAt <= now; first = this.heap[0]) {
      this.disarm(first);
      this.expired(first);
    }
    this.schedule();
  }

  /** The timer fires at the earliest expiry (none when no socket has one). */
  private schedule(): void {
    const first = this.heap[0];
    const at = first?.expiresAt ?? Number.POSITIVE_INFINITY;
    if (at === this.timerAt) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!first) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.now()));
    this.timer.unref();
  }

  /** Moves the entry at `index` up or down to where its expiry belongs. */
  private fix(index: number): void {
    const heap = this.heap;
    let i = index;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.expiresAt <= item.expiresAt) break;
      this.place(heap[parent]!, i);
      i = parent;
    }
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.expiresAt < heap[left]!.expiresAt ? right : left;
      if (heap[child]!.expiresAt >= item.expiresAt) break;
      this.place(heap[child]!, i);
      i = child;
    }
    this.place(item, i);
  }

  private place(client: PushClient, index: number): void {
    this.heap[index] = client;
    client.expiryIndex = index;
  }
}
