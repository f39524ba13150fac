import { IdentityError, type AccessClaims } from '@herald/identity';
import { proxyTrust, RateLimiter } from '@herald/nest';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Expiries, Handshake } from './handshake.js';
import type { PushClient } from './push-client.js';
import { fakeClient } from './push.testing.js';
import { MAX_SOCKETS_PER_USER } from './limits.js';

const USER = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const claims: AccessClaims = { userId: USER, sessionId: 's' };

/**
 * A handshake over tokens 'good' (the user's), 'bad' (refused) and 'down' (the database
 * failed), an IP budget of `ipBurst`, and `sockets` already open for the user.
 */
function handshakeOf(
  options: {
    ipBurst?: number;
    sockets?: number;
    trustedProxies?: string[];
    /** Authentication answers when the test says (`authenticating`), rather than at once. */
    held?: boolean;
    maxConcurrent?: number;
    maxWaiting?: number;
  } = {},
) {
  const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];
  const authenticating: (() => void)[] = [];
  const handshake = new Handshake({
    ...(options.maxConcurrent !== undefined ? { maxConcurrent: options.maxConcurrent } : {}),
    ...(options.maxWaiting !== undefined ? { maxWaiting: options.maxWaiting } : {}),
    identity: {
      authenticate: (token) => {
        if (options.held) return new Promise((resolve) => authenticating.push(() => resolve(claims)));
        if (token === 'good') return Promise.resolve(claims);
        if (token === 'down') return Promise.reject(new Error('database unreachable'));
        return Promise.reject(new IdentityError('AUTH.INVALID_TOKEN', 'bad signature'));
      },
    },
    limits: { perIp: new RateLimiter(0.001, options.ipBurst ?? 100) },
    allowedOrigins: ['https://chat.example.com'],
    logger: { emit: (_level, message, _context, _stack, fields) => logged.push({ message: String(message), fields }) },
    clients: { socketsOf: () => options.sockets ?? 0, reauthenticated: () => undefined },
    trust: proxyTrust(options.trustedProxies ?? []),
  });
  /** Answers the upgrade's HTTP status line (101: admitted) and what it was admitted as. */
  const upgrade = async (url: string, headers: Record<string, string> = {}, remoteAddress = '203.0.113.7') => {
    let answer = 'HTTP/1.1 101';
    const socket = { end: (text: string) => (answer = text) } as unknown as Duplex;
    const request = { url, headers, socket: { remoteAddress } } as unknown as IncomingMessage;
    const admitted = await handshake.admit(request, socket);
    return { status: Number(answer.split(' ')[1]), answer, admitted };
  };
  return { upgrade, logged, authenticating };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the WebSocket handshake', () => {
  it('through a trusted proxy (TRUST_PROXY), the client is who X-Forwarded-For names, for the IP limit and the log', async () => {
    // The peer, 203.0.113.7, is the proxy; each client behind it has its own budget of 1.
    const { upgrade } = handshakeOf({ ipBurst: 1, trustedProxies: ['203.0.113.0/24'] });
    const first = await upgrade('/ws', { ...bearer('good'), 'x-forwarded-for': '198.51.100.4' });
    expect(first.admitted?.peer.ip).toBe('198.51.100.4');
    expect((await upgrade('/ws', { ...bearer('good'), 'x-forwarded-for': '198.51.100.4' })).status).toBe(429);
    expect((await upgrade('/ws', { ...bearer('good'), 'x-forwarded-for': '198.51.100.5' })).status).toBe(101);
    // Untrusted, the header is ignored: the peer is the client.
    const direct = handshakeOf({ ipBurst: 1 });
    expect(
      (await direct.upgrade('/ws', { ...bearer('good'), 'x-forwarded-for': '198.51.100.4' })).admitted?.peer.ip,
    ).toBe('203.0.113.7');
    expect((await direct.upgrade('/ws', { ...bearer('good'), 'x-forwarded-for': '198.51.100.9' })).status).toBe(429);
  });

  it('a valid access token in the Authorization header opens the socket as its user', async () => {
    const { upgrade } = handshakeOf();
    const { status, admitted } = await upgrade('/ws', bearer('good'));
    expect(status).toBe(101);
    expect(admitted).toMatchObject({ caller: claims, token: 'good', peer: { ip: '203.0.113.7' } });
  });

  it("the socket's correlation id is the upgrade's traceparent trace id or x-request-id, else a new one", async () => {
    const { upgrade } = handshakeOf();
    const traced = await upgrade('/ws', {
      ...bearer('good'),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
    expect(traced.admitted?.peer.correlationId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const named = await upgrade('/ws', { ...bearer('good'), 'x-request-id': 'client-chosen-id' });
    expect(named.admitted?.peer.correlationId).toBe('client-chosen-id');
    const [a, b] = [await upgrade('/ws', bearer('good')), await upgrade('/ws', bearer('good'))];
    expect(a.admitted?.peer.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.admitted?.peer.correlationId).not.toBe(b.admitted?.peer.correlationId);
  });

  it('a browser may pass the token as ?access_token=, from an allowed origin', async () => {
    const { upgrade } = handshakeOf();
    expect((await upgrade('/ws?access_token=good', { origin: 'https://chat.example.com' })).status).toBe(101);
  });

  it('another path is 404', async () => {
    const { upgrade } = handshakeOf();
    expect((await upgrade('/socket', bearer('good'))).status).toBe(404);
  });

  it('an origin not allowed is 403, and logged', async () => {
    const { upgrade, logged } = handshakeOf();
    expect((await upgrade('/ws', { ...bearer('good'), origin: 'https://evil.example.com' })).status).toBe(403);
    expect(logged.map((l) => l.message)).toEqual(['websocket refused: origin not allowed']);
  });

  it('no token or a refused one is 401, logged as a REST 401 is, without the token', async () => {
    const { upgrade, logged } = handshakeOf();
    expect((await upgrade('/ws')).status).toBe(401);
    expect((await upgrade('/ws', bearer('bad'))).status).toBe(401);
    expect(logged.map((l) => l.message)).toEqual([
      'authentication refused: AUTH.INVALID_TOKEN',
      'authentication refused: AUTH.INVALID_TOKEN',
    ]);
    // As a word: a random correlation id may hold the letters (`…-cbad-…`).
    expect(JSON.stringify(logged)).not.toMatch(/\bbad\b/);
    expect(logged[0]?.fields).toMatchObject({ userId: undefined, route: '/ws', ip: '203.0.113.7' });
    expect(Object.keys(logged[0]?.fields ?? {})).toEqual(['userId', 'route', 'ip', 'correlationId']);
  });

  it('a database failure is no refusal: 503 with Retry-After', async () => {
    const { upgrade } = handshakeOf();
    const { status, answer } = await upgrade('/ws', bearer('down'));
    expect(status).toBe(503);
    expect(answer).toContain('retry-after: 1');
  });

  it("a handshake counts against its IP's budget: past it, 429 with Retry-After", async () => {
    const { upgrade } = handshakeOf({ ipBurst: 1 });
    expect((await upgrade('/ws', bearer('good'))).status).toBe(101);
    const { status, answer } = await upgrade('/ws', bearer('good'));
    expect(status).toBe(429);
    expect(answer).toMatch(/retry-after: \d+/);
  });

  it(`a user with ${MAX_SOCKETS_PER_USER} sockets open here is refused the next with 429`, async () => {
    const { upgrade } = handshakeOf({ sockets: MAX_SOCKETS_PER_USER });
    expect((await upgrade('/ws', bearer('good'))).status).toBe(429);
    expect((await handshakeOf({ sockets: MAX_SOCKETS_PER_USER - 1 }).upgrade('/ws', bearer('good'))).status).toBe(101);
  });

  describe('a reconnect storm', () => {
    const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

    it('is authenticated a bounded number at a time; the others wait their turn, and all get in', async () => {
      const { upgrade, authenticating } = handshakeOf({ held: true, maxConcurrent: 3, maxWaiting: 100 });
      const storm = Array.from({ length: 50 }, () => upgrade('/ws', bearer('good')));
      let admitted = 0;
      for (let round = 0; admitted < 50; round++) {
        await settle();
        // Never more authentications in flight than the bound.
        expect(authenticating.length).toBeLessThanOrEqual(3);
        const batch = authenticating.splice(0);
        for (const answer of batch) answer();
        admitted += batch.length;
        expect(round).toBeLessThan(100);
      }
      expect((await Promise.all(storm)).map((s) => s.status)).toEqual(Array(50).fill(101));
    });

    it('past the line, a handshake is refused at once with 503 and Retry-After: 1, and comes in when it tries again', async () => {
      const { upgrade, authenticating } = handshakeOf({ held: true, maxConcurrent: 2, maxWaiting: 3 });
      const waiting = Array.from({ length: 5 }, () => upgrade('/ws', bearer('good')));
      await settle();
      const refused = await upgrade('/ws', bearer('good'));
      expect(refused.status).toBe(503);
      expect(refused.answer).toContain('retry-after: 1');
      expect(authenticating.length).toBe(2);
      while (authenticating.length > 0) {
        for (const answer of authenticating.splice(0)) answer();
        await settle();
      }
      expect((await Promise.all(waiting)).map((s) => s.status)).toEqual(Array(5).fill(101));
      // The line is empty again: the one refused gets in now.
      const again = upgrade('/ws', bearer('good'));
      await settle();
      authenticating.splice(0).forEach((answer) => answer());
      expect((await again).status).toBe(101);
    });

    it('is served by client IP in turn: a late client is not kept behind one address that queued many', async () => {
      const { upgrade, authenticating } = handshakeOf({ held: true, maxConcurrent: 1, maxWaiting: 100 });
      const order: string[] = [];
      const from = (ip: string, name: string) =>
        upgrade('/ws', bearer('good'), ip).then(() => {
          order.push(name);
        });
      const storm = Array.from({ length: 10 }, (_, i) => from('198.51.100.1', `storm${i}`));
      await settle();
      const late = from('198.51.100.2', 'late');
      while (order.length < 11) {
        await settle();
        authenticating.splice(0).forEach((answer) => answer());
      }
      await Promise.all([...storm, late]);
      // One of the storm's was being authenticated and one was first in line: then the late client's turn.
      expect(order.indexOf('late')).toBeLessThanOrEqual(2);
    });
  });
});

describe("the sockets' token expiries: one heap, one timer", () => {
  afterEach(() => vi.useRealTimers());

  function expiries() {
    vi.useFakeTimers({ now: 0 });
    const expired: string[] = [];
    const heap = new Expiries((client: PushClient) => expired.push(client.caller.userId));
    return { heap, expired };
  }

  it('closes each socket at its own expiry, in order, with one timer for all of them', () => {
    const { heap, expired } = expiries();
    const users = Array.from({ length: 200 }, (_, i) => fakeClient(`user${i}`).client);
    // Armed in a shuffled order: each expires at (i + 1) seconds.
    for (const i of [...users.keys()].sort((a, b) => ((a * 7919) % 200) - ((b * 7919) % 200))) {
      heap.arm(users[i]!, (i + 1) * 1000);
    }
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(999);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['user0']);
    vi.advanceTimersByTime(199_000);
    expect(expired).toEqual(users.map((u) => u.caller.userId));
    expect(heap.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a socket re-armed (a fresh token) moves to its new expiry; one closed is forgotten and not kept', () => {
    const { heap, expired } = expiries();
    const [ann, bob, cat] = ['ann', 'bob', 'cat'].map((u) => fakeClient(u).client);
    heap.arm(ann!, 1_000);
    heap.arm(bob!, 2_000);
    heap.arm(cat!, 3_000);
    heap.arm(ann!, 5_000);
    heap.disarm(bob!);
    expect(heap.size).toBe(2);
    expect(bob!.expiryIndex).toBe(-1);
    vi.advanceTimersByTime(4_000);
    expect(expired).toEqual(['cat']);
    vi.advanceTimersByTime(1_000);
    expect(expired).toEqual(['cat', 'ann']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
