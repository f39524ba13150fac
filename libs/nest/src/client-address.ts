/**
 * Who a request is from when proxies stand in front of the API (an ingress): the peer,
 * unless it is a trusted proxy (TRUST_PROXY), in which case the address it says it
 * forwarded for (the last one of X-Forwarded-For), and so on leftwards while those are
 * trusted proxies too. Addresses a client wrote into the header itself stand left of what
 * its proxy appended and are never reached. No trusted proxy: the peer, whatever the header
 * says. Fastify is given `trust` for REST requests; the WebSocket handshake, which Fastify
 * does not see, asks `clientAddress`.
 */
import { BlockList, isIP } from 'node:net';

/** Whether an address is a trusted proxy's (its ranges, as TRUST_PROXY lists them). */
export type ProxyTrust = (address: string) => boolean;

export function proxyTrust(trusted: readonly string[]): ProxyTrust {
  if (trusted.length === 0) return () => false;
  const list = new BlockList();
  for (const entry of trusted) {
    const [address = '', prefix] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return (address) => {
    const family = isIP(address);
    if (family === 0) return false;
    // An IPv4 peer on a dual-stack socket reads ::ffff:a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    return mapped !== undefined ? list.check(mapped, 'ipv4') : list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/** The client's address: the peer's, or, through trusted proxies, the first untrusted one they forwarded for. */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: ProxyTrust,
): string {
  let client = peer ?? '';
  if (!trust(client)) return client;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const hops = header
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!trust(hop)) return client;
  }
  return client;
}

/**
 * What a client's per-IP rate limits count under: an IPv4 address itself; an IPv6 address's
 * /64, since one host commonly holds a whole /64 and could take a fresh address for every
 * request (each with a fresh budget, each evicting someone else's from the limiter).
 */
export function rateLimitKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = (text: string): string[] =>
    text === '' ? [] : text.split(':').flatMap((group) => (group.includes('.') ? ['0', '0'] : [group]));
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const full = [...before, ...Array<string>(Math.max(0, 8 - before.length - after.length)).fill('0'), ...after];
  return `${full
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
