import { describe, expect, it } from 'vitest';
import { isPublicAddress, labelOf, refuseUrl, registrationSchema } from './targets.js';

describe('target URLs (SSRF rules)', () => {
  const policy = { allowedHosts: ['127.0.0.1:4000'] };

  it('takes https: to public names and addresses', () => {
    expect(refuseUrl('https://bots.example.com/hook?x=1', policy)).toBeUndefined();
    expect(refuseUrl('https://93.184.216.34/hook', policy)).toBeUndefined();
    expect(refuseUrl('https://[2606:2800:220:1::1]/hook', policy)).toBeUndefined();
  });

  it('refuses plain http:, other schemes, credentials, and loopback, private or link-local addresses', () => {
    for (const url of [
      'http://bots.example.com/hook',
      'ftp://bots.example.com/hook',
      'https://u:p@bots.example.com/hook',
      'https://localhost/hook',
      'https://a.localhost/hook',
      'https://127.0.0.1/hook',
      'https://10.0.0.1/hook',
      'https://172.16.0.1/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/hook',
      'https://100.64.0.1/hook',
      'https://0.0.0.0/hook',
      'https://[::1]/hook',
      'https://[fd00::1]/hook',
      'https://[fe80::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'not a url',
      `https://example.com/${'x'.repeat(2_048)}`,
    ]) {
      expect(refuseUrl(url, policy), url).toBeDefined();
    }
  });

  it('takes http: and loopback only for an allowed host:port', () => {
    expect(refuseUrl('http://127.0.0.1:4000/hook', policy)).toBeUndefined();
    expect(refuseUrl('http://127.0.0.1:4001/hook', policy)).toBeDefined();
  });

  it('tells public addresses apart', () => {
    expect(isPublicAddress('8.8.8.8')).toBe(true);
    expect(isPublicAddress('172.32.0.1')).toBe(true);
    expect(isPublicAddress('172.31.255.255')).toBe(false);
    expect(isPublicAddress('2001:4860:4860::8888')).toBe(true);
    expect(isPublicAddress('::ffff:10.0.0.1')).toBe(false);
  });

  it('takes IPv6 only from global unicast (2000::/3), without the ranges that wrap an IPv4 address or are reserved', () => {
    for (const address of [
      '::7f00:1', // IPv4-compatible ::127.0.0.1 (deprecated, reserved)
      '::a00:1', // ::10.0.0.1
      'fec0::1', // site-local (deprecated)
      'fef0::1',
      '100::1', // discard-only
      '2002:7f00:1::1', // 6to4 of 127.0.0.1
      '2002:a9fe:a9fe::', // 6to4 of 169.254.169.254
      '2001::1', // Teredo
      '2001:db8::1', // documentation
      '3fff::1', // documentation (RFC 9637)
      '5f00::1', // SRv6 SIDs
      '4000::1', // not allocated
    ]) {
      expect(isPublicAddress(address), address).toBe(false);
      expect(refuseUrl(`https://[${address}]/hook`, { allowedHosts: [] }), address).toBeDefined();
    }
    expect(isPublicAddress('2a00:1450:4001:81b::200e')).toBe(true);
  });
});

describe('registrations', () => {
  const schema = registrationSchema({ allowedHosts: [] });

  it('takes each kind with its target, and refuses what is off its shape', () => {
    expect(schema.safeParse({ kind: 'apns', token: 'ab'.repeat(32) }).success).toBe(true);
    expect(schema.safeParse({ kind: 'apns', token: 'xyz' }).success).toBe(false);
    expect(schema.safeParse({ kind: 'fcm', token: 'a:b-c_d.e' }).success).toBe(true);
    expect(schema.safeParse({ kind: 'fcm', token: 'a b' }).success).toBe(false);
    const keys = { p256dh: 'B'.repeat(87), auth: 'A'.repeat(22) };
    expect(
      schema.safeParse({ kind: 'webpush', subscription: { endpoint: 'https://push.example.com/x', keys } }).success,
    ).toBe(true);
    expect(schema.safeParse({ kind: 'webhook', url: 'https://example.com/h', extra: 1 }).success).toBe(false);
  });

  it('shows an origin or a token’s end, never a target in full', () => {
    expect(labelOf({ kind: 'webhook', url: 'https://example.com/secret/path?token=1' })).toBe('https://example.com');
    expect(labelOf({ kind: 'fcm', token: 'abcdefgh1234' })).toBe('…1234');
  });
});
