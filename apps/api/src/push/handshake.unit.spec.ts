import { IdentityError, type AccessClaims } from '@herald/identity';
import { proxyTrust, RateLimiter } from '@herald/nest';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Handshake } from './handshake.js';
import { MAX_SOCKETS_PER_USER } from './limits.js';

const USER = '5f0c7a52-8a3b-4d1e-9c6f-3e2d1b0a9f87';
const claims: AccessClaims = { userId: USER, sessionId: 's' };

/**
 * A handshake over tokens 'good' (the user's), 'bad' (refused) and 'down' (the database
 * failed), an IP budget of `ipBurst`, and `sockets` already open for the user.
 */
function handshakeOf(options: { ipBurst?: number; sockets?: number; trustedProxies?: string[] } = {}) {
  const logged: { message: string; fields: Record<string, unknown> | undefined }[] = [];
  const handshake = new Handshake({
    identity: {
      authenticate: (token) => {
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
  const upgrade = async (url: string, headers: Record<string, string> = {}) => {
    let answer = 'HTTP/1.1 101';
    const socket = { end: (text: string) => (answer = text) } as unknown as Duplex;
    const request = { url, headers, socket: { remoteAddress: '203.0.113.7' } } as unknown as IncomingMessage;
    const admitted = await handshake.admit(request, socket);
    return { status: Number(answer.split(' ')[1]), answer, admitted };
  };
  return { upgrade, logged };
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
});
