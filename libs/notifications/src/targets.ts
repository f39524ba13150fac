/**
 * What a device is: its kind and the target its notifications go to, as a client registers
 * it, with the limits and the rules against server-side request forgery (SSRF): Herald
 * sends requests to URLs its users give (webhooks, Web Push endpoints), so those URLs
 * must not reach Herald's own network. Plain TypeScript: the controller validates with
 * these schemas, the adapters check addresses again when they connect (a name that
 * resolved to a public address at registration may resolve to a private one later).
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';

export const DEVICE_KINDS = ['webpush', 'fcm', 'apns', 'webhook'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** Devices one user may register (README "Limits"). */
export const MAX_DEVICES_PER_USER = 10;
/** A webhook URL or a Web Push endpoint, in characters. */
export const MAX_URL_LENGTH = 2_048;
/** An FCM registration token or an APNs device token, in characters. */
export const MAX_TOKEN_LENGTH = 4_096;
/** A device's name, as the user calls it. */
export const MAX_DEVICE_NAME = 100;

/**
 * Where requests may go: `https:` to a public address; plain `http:` and non-public
 * addresses (loopback, private, link-local) only to a `host:port` in `allowedHosts`
 * (WEBHOOK_ALLOWED_HOSTS: tests, benchmarks, a bot beside Herald).
 */
export interface UrlPolicy {
  readonly allowedHosts: readonly string[];
}

/** Why a URL may not be a target; undefined when it may. */
export function refuseUrl(text: string, policy: UrlPolicy): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.username !== '' || url.password !== '') return 'no user name or password in the URL';
  const allowed = policy.allowedHosts.includes(url.host.toLowerCase());
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) {
    return 'must be https: (http: only to a host in WEBHOOK_ALLOWED_HOSTS)';
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (
    !allowed &&
    (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && !isPublicAddress(host)))
  ) {
    return 'must not be a loopback, private or link-local address (unless in WEBHOOK_ALLOWED_HOSTS)';
  }
  return undefined;
}

/** IPv4 ranges that are not public: this network, private, CGNAT, loopback, link-local, IETF, documentation, benchmarking, multicast and reserved. */
const NON_PUBLIC_V4 = subnets('ipv4', [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
]);
/**
 * IPv6 is taken only from global unicast (2000::/3), so that everything else (loopback,
 * unique-local, link- and site-local, multicast, IPv4-mapped and -compatible, NAT64,
 * discard) is refused without a list that could miss one; within it, the ranges that wrap
 * an IPv4 address (6to4, Teredo: they could reach a private one) or are documentation.
 */
const GLOBAL_UNICAST_V6 = subnets('ipv6', [['2000::', 3]]);
const NON_PUBLIC_V6 = subnets('ipv6', [
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
]);

function subnets(type: 'ipv4' | 'ipv6', ranges: [string, number][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, type);
  return list;
}

/** Whether an IP address (v4 or v6) is a public one: not loopback, private, link-local, CGNAT, multicast or reserved. */
export function isPublicAddress(address: string): boolean {
  const v4 = isIP(address) === 4 ? address : /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4 !== undefined) return isIP(v4) === 4 && !NON_PUBLIC_V4.check(v4, 'ipv4');
  if (isIP(address) !== 6) return false;
  return GLOBAL_UNICAST_V6.check(address, 'ipv6') && !NON_PUBLIC_V6.check(address, 'ipv6');
}

const name = z.string().trim().min(1).max(MAX_DEVICE_NAME).optional().describe('What the user calls the device');
const base64Url = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+=*$/, 'base64url');

/** POST /me/devices: one of four kinds of target. */
export function registrationSchema(policy: UrlPolicy) {
  const url = z
    .string()
    .max(MAX_URL_LENGTH)
    .superRefine((value, ctx) => {
      const problem = refuseUrl(value, policy);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
  return z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('webpush'),
      name,
      subscription: z
        .strictObject({
          endpoint: url.describe("The push service's endpoint (PushSubscription.endpoint)"),
          expirationTime: z.number().nullable().optional(),
          keys: z.strictObject({
            p256dh: base64Url(80, 100).describe("The browser's P-256 public key (base64url)"),
            auth: base64Url(16, 32).describe('The 16-byte authentication secret (base64url)'),
          }),
        })
        .describe("The browser's PushSubscription as JSON (PushSubscription.toJSON())"),
    }),
    z.strictObject({
      kind: z.literal('fcm'),
      name,
      token: z
        .string()
        .min(1)
        .max(MAX_TOKEN_LENGTH)
        .regex(/^[\w:.-]+$/, 'an FCM registration token')
        .describe('The FCM registration token'),
    }),
    z.strictObject({
      kind: z.literal('apns'),
      name,
      token: z
        .string()
        .regex(/^[0-9a-fA-F]{64,200}$/, 'an APNs device token (hex)')
        .describe('The APNs device token (hex)'),
    }),
    z.strictObject({
      kind: z.literal('webhook'),
      name,
      url: url.describe('Where notifications are POSTed, signed (a bot)'),
    }),
  ]);
}

export type Registration = z.output<ReturnType<typeof registrationSchema>>;

/** What a device's notifications need to reach it: kept in Herald's database, never logged, never answered. */
export type Target =
  | {
      readonly kind: 'webpush';
      readonly endpoint: string;
      readonly keys: { readonly p256dh: string; readonly auth: string };
    }
  | { readonly kind: 'fcm'; readonly token: string }
  | { readonly kind: 'apns'; readonly token: string }
  | { readonly kind: 'webhook'; readonly url: string };

export function targetOf(registration: Registration): Target {
  switch (registration.kind) {
    case 'webpush':
      return { kind: 'webpush', endpoint: registration.subscription.endpoint, keys: registration.subscription.keys };
    case 'fcm':
      return { kind: 'fcm', token: registration.token };
    case 'apns':
      return { kind: 'apns', token: registration.token.toLowerCase() };
    case 'webhook':
      return { kind: 'webhook', url: registration.url };
    default: {
      const unknown: never = registration;
      return unknown;
    }
  }
}

/**
 * What a device list shows of a target: enough to tell devices apart, nothing that could be
 * used to send to it (a URL's path may hold a secret; a token is a credential).
 */
export function labelOf(target: Target): string {
  switch (target.kind) {
    case 'webpush':
      return new URL(target.endpoint).origin;
    case 'webhook':
      return new URL(target.url).origin;
    case 'fcm':
    case 'apns':
      return `…${target.token.slice(-4)}`;
    default: {
      const unknown: never = target;
      return unknown;
    }
  }
}
