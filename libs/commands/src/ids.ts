/** Ids the command side derives rather than draws: the same input gives the same id. */
import { createHash, createHmac } from 'node:crypto';

/**
 * A UUID derived from `input` with a secret key (HMAC-SHA-256) and shaped as a random one:
 * version 4 and the RFC 4122 variant, as `randomUUID()` gives. For ids a client must not
 * tell from random ones (a withheld send's message id: a version-8 id, or one anybody could
 * recompute from the request, would reveal the block), while the same input still gives the
 * same id on every instance sharing the key (a retry is answered the same id). 122 bits of
 * the MAC are kept.
 */
export function keyedRandomLookingId(key: string | Uint8Array, input: string): string {
  const hex = createHmac('sha256', key).update(input).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One id for a pair of users, whichever comes first (a version-8 UUID from their ids). */
export function pairId(a: string, b: string): string {
  const hex = createHash('sha256').update([a, b].sort().join(':')).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
