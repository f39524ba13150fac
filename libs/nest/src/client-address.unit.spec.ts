import { describe, expect, it } from 'vitest';
import { clientAddress, proxyTrust, rateLimitKey } from './client-address.js';

describe('the client behind trusted proxies', () => {
  const trust = proxyTrust(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);

  it('is the peer when the peer is no trusted proxy, whatever X-Forwarded-For says', () => {
    expect(clientAddress('198.51.100.1', '10.0.0.1, 203.0.113.5', trust)).toBe('198.51.100.1');
    expect(clientAddress('198.51.100.1', undefined, proxyTrust([]))).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.1', '203.0.113.5', proxyTrust([]))).toBe('10.0.0.1');
  });

  it('is the rightmost address that is no trusted proxy: what a client prepends is never reached', () => {
    expect(clientAddress('10.1.2.3', '203.0.113.5', trust)).toBe('203.0.113.5');
    expect(clientAddress('10.1.2.3', '6.6.6.6, 203.0.113.5', trust)).toBe('203.0.113.5');
    expect(clientAddress('10.1.2.3', ['6.6.6.6', '203.0.113.5, 192.0.2.1'], trust)).toBe('203.0.113.5');
    expect(clientAddress('::ffff:10.1.2.3', '2001:db8::7', trust)).toBe('2001:db8::7');
    expect(clientAddress('fd12::1', '203.0.113.5', trust)).toBe('203.0.113.5');
  });

  it('stops at what is no address, and is the last proxy when all are proxies', () => {
    expect(clientAddress('10.1.2.3', 'garbage, 203.0.113.5', trust)).toBe('203.0.113.5');
    expect(clientAddress('10.1.2.3', '203.0.113.5, garbage', trust)).toBe('10.1.2.3');
    expect(clientAddress('10.1.2.3', '10.9.9.9', trust)).toBe('10.9.9.9');
    expect(clientAddress('10.1.2.3', '', trust)).toBe('10.1.2.3');
  });
});

describe('the key per-IP limits count under', () => {
  it('is an IPv4 address itself, and an IPv6 address its /64', () => {
    expect(rateLimitKey('203.0.113.5')).toBe('203.0.113.5');
    expect(rateLimitKey('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(rateLimitKey('2001:db8:aa:bb::1')).toBe('2001:db8:aa:bb::/64');
    expect(rateLimitKey('2001:0DB8:00aa:00bb:ffff:ffff:ffff:fffe')).toBe('2001:db8:aa:bb::/64');
    expect(rateLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitKey('fe80::1:2:3:4')).toBe('fe80:0:0:0::/64');
    expect(rateLimitKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(rateLimitKey('')).toBe('');
  });
});
