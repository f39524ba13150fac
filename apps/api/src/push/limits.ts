/**
 * The push channel's limits, in one place: what one client, one user and one process may
 * cost, and the bounds of a catch-up. The README's limits table quotes these numbers.
 */

/**
 * Largest client frame (bytes): a sync naming MAX_SYNC_CONVERSATIONS ids with the largest
 * seqs (about 56 KB) and room to spare; anything larger closes the socket with 1009.
 */
export const MAX_PAYLOAD = 64 * 1024;
/** Missed events sent on sync per conversation; beyond, `resync`. */
export const MAX_CATCH_UP = 500;
/** Conversations one sync may name. */
export const MAX_SYNC_CONVERSATIONS = 1_000;
/** A sync takes one token of the user's rate limit, and one more per this many conversations past the first ones. */
export const SYNC_CONVERSATIONS_PER_TOKEN = 100;
/** Events read per page of a catch-up: the unit that budgets and the process's gate apply to. */
export const CATCH_UP_PAGE = 16;
/** Catch-up bytes one socket may be sent a second, and saved up (a reconnect's burst). */
export const CATCH_UP_SOCKET_BYTES_PER_SECOND = 512 * 1024;
export const CATCH_UP_SOCKET_BURST_BYTES = 1024 * 1024;
/** Catch-up bytes all of one user's sockets on a node may be sent a second, and saved up. */
export const CATCH_UP_USER_BYTES_PER_SECOND = 1024 * 1024;
export const CATCH_UP_USER_BURST_BYTES = 2 * 1024 * 1024;
/**
 * Reads a sync makes in flight per process (a membership check, a catch-up page, a user
 * channel's head), whoever asks; the others wait their user's turn. A socket waits for one
 * at a time (its frames are handled one at a time), so the line holds at most one read per
 * socket syncing. With MAX_CONCURRENT_HANDSHAKES, 16 of the 20 connections of the default
 * pool (DATABASE_POOL_SIZE) at most: the rest stay free for commands and the projections
 * (whose locks are renewed through it) while a reconnect storm is taken in.
 */
export const MAX_CONCURRENT_CATCH_UPS = 8;
/**
 * Handshakes being authenticated at once per process (a token check and, when not cached,
 * a session read), and at most waiting their turn (served by client IP in turn): past
 * those, a handshake (a reconnect storm's) is refused with HTTP 503 and `Retry-After: 1`.
 */
export const MAX_CONCURRENT_HANDSHAKES = 8;
export const MAX_WAITING_HANDSHAKES = 5_000;
/** A socket's refusals are logged at most once in this interval (with how many were not). */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** Bytes a socket may have waiting to be sent before it counts as too slow. */
export const MAX_BUFFERED = 1024 * 1024;
/** Users one presence frame may watch. */
export const MAX_PRESENCE_USERS = 200;
/** A presence frame takes one token of the user's rate limit, and one more per this many users past the first ones. */
export const PRESENCE_USERS_PER_TOKEN = 100;
/**
 * Conversations a sync names that turn out not to be the user's (no such conversation, or
 * not a member) per extra token of the user's rate limit, taken as they are found: an id
 * that is no conversation is read from the store every time (nothing to cache), so this is
 * what bounds the reads one token buys to a sync's own prepaid ones plus this many.
 */
export const SYNC_REFUSALS_PER_TOKEN = 10;
/**
 * Every frame handled costs one token of the user's rate limit, plus one per this many
 * bytes of it, refused or not (a sync or presence frame costs what its ids do if more):
 * no frame type, and no refusal, floods around the limit shared with REST.
 */
export const FRAME_BYTES_PER_TOKEN = 16 * 1024;
/** Sockets one user may have open on one instance; the next handshake is refused with 429. */
export const MAX_SOCKETS_PER_USER = 20;
/** Presence frames per second a socket may send (bursts of PRESENCE_FRAMES_BURST): each costs database reads. */
export const PRESENCE_FRAMES_PER_SECOND = 5;
export const PRESENCE_FRAMES_BURST = 10;
/** A socket's typing signals relayed per conversation: one per this interval; the rest are dropped. */
export const TYPING_INTERVAL_MS = 1_000;
/**
 * Frames of one client waiting to be handled: at this many the socket is not read until
 * they are (TCP slows the client down); frames it had sent already are dropped with
 * PUSH.RATE_LIMITED.
 */
export const MAX_WAITING_FRAMES = 100;

/** The tokens of the user's rate limit a frame of `bytes` costs before it is even parsed. */
export function frameCost(bytes: number): number {
  return 1 + Math.floor(bytes / FRAME_BYTES_PER_TOKEN);
}

/** The tokens a sync naming `conversations` costs in all, of which its frameCost paid some. */
export function syncCost(conversations: number): number {
  return 1 + Math.floor(Math.max(0, conversations - 1) / SYNC_CONVERSATIONS_PER_TOKEN);
}

/** The tokens a presence frame naming `users` (distinct) costs in all, of which its frameCost paid some. */
export function presenceCost(users: number): number {
  return 1 + Math.floor(Math.max(0, users - 1) / PRESENCE_USERS_PER_TOKEN);
}
