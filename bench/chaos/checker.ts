/**
 * The chaos run's checker: pure functions over the history and the final state (no I/O),
 * each returning the anomalies it found. checker.unit.spec.ts feeds it hand-made histories
 * with each kind of anomaly, so a run where it finds nothing means something.
 */
import { streamIdOf } from '@herald/events';
import type { Entry, FaultEntry, FrameEntry, RequestEntry } from './history.js';

/** One event of a conversation's stream, as the log holds it (seq = stream revision). */
export interface LogEvent {
  readonly seq: number;
  readonly eventId: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface TimelineMessage {
  readonly seq: number;
  readonly messageId: string;
  readonly deleted: boolean;
}

export interface InboxRow {
  readonly conversationId: string;
  readonly lastSeq: number;
  readonly unreadCount: number;
  readonly mentionCount: number;
  readonly readSeq: number;
}

export interface KafkaRecord {
  readonly key: string;
  readonly eventId: string;
  readonly streamRevision: number;
}

export interface FinalState {
  /** Client name → user id. */
  readonly users: Readonly<Record<string, string>>;
  /** Conversation id → its members' user ids. */
  readonly members: Readonly<Record<string, readonly string[]>>;
  /** Conversation id → its stream, from the log. */
  readonly streams: Readonly<Record<string, readonly LogEvent[]>>;
  /** User id → their receipts stream's events (ConversationRead ...), from the log. */
  readonly receipts: Readonly<Record<string, readonly LogEvent[]>>;
  /** Conversation id → every message of `GET /conversations/:id/messages`, in seq order. */
  readonly timelines: Readonly<Record<string, readonly TimelineMessage[]>>;
  /** User id → their inbox (`GET /conversations`). */
  readonly inboxes: Readonly<Record<string, readonly InboxRow[]>>;
  /** The conversations topic's records, in the order consumed per partition; undefined: Kafka off. */
  readonly kafka?: readonly KafkaRecord[];
}

export type AnomalyKind =
  | 'ack-lost'
  | 'ack-duplicated'
  | 'ack-wrong-seq'
  | 'ack-inconsistent'
  | 'errored-send-duplicated'
  | 'stream-gap'
  | 'timeline-mismatch'
  | 'socket-gap'
  | 'socket-duplicate'
  | 'socket-behind'
  | 'unread-mismatch'
  | 'mention-mismatch'
  | 'read-seq-mismatch'
  | 'kafka-missing'
  | 'kafka-order'
  | 'kafka-unknown'
  | 'read-your-writes'
  | 'server-error'
  | 'unavailable-without-fault'
  | 'failed-without-fault'
  | 'slow-recovery'
  | 'server-crash';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly detail: string;
}

export interface CheckOptions {
  /** A fault must be over (ready and a send succeeds) within this many ms of its end. */
  readonly recoveryBoundMs: number;
  /**
   * After a fault's recovery, requests still in flight, projections catching up and
   * reconnects may fail or answer 503 for this long without counting as anomalies.
   */
  readonly graceMs: number;
}

/** Events a `sync` catches up per conversation; beyond, `resync` (README, Limits). */
export const MAX_CATCH_UP = 500;

export const DEFAULT_CHECK_OPTIONS: CheckOptions = { recoveryBoundMs: 30_000, graceMs: 10_000 };

const requests = (history: readonly Entry[]): RequestEntry[] =>
  history.filter((e): e is RequestEntry => e.kind === 'request');
const ok = (r: RequestEntry): boolean => r.status !== undefined && r.status >= 200 && r.status < 300;

/** The marker a message's text starts with (its first word). */
export const markerOf = (text: unknown): string | undefined =>
  typeof text === 'string' ? text.split(' ', 1)[0] : undefined;

/**
 * Sends: every acknowledged one is in its conversation exactly once (one MessageSent in
 * the log with its marker, at the answered seq, under the answered message id, and in the
 * timeline read model there); an errored one at most once; all answers of one operation agree.
 */
export function checkSends(history: readonly Entry[], final: FinalState): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const byOp = new Map<number, RequestEntry[]>();
  for (const r of requests(history)) {
    if (r.opKind !== 'send' && r.opKind !== 'probe') continue;
    const list = byOp.get(r.op) ?? [];
    list.push(r);
    byOp.set(r.op, list);
  }
  // Markers as the log has them, per conversation.
  const sentByMarker = new Map<string, LogEvent[]>();
  for (const events of Object.values(final.streams)) {
    for (const e of events) {
      if (e.type !== 'MessageSent') continue;
      const marker = markerOf(e.data.text);
      if (!marker) continue;
      const list = sentByMarker.get(marker) ?? [];
      list.push(e);
      sentByMarker.set(marker, list);
    }
  }
  for (const [op, attempts] of byOp) {
    const first = attempts[0]!;
    const conversationId = first.conversationId!;
    const marker = first.marker!;
    const found = sentByMarker.get(marker) ?? [];
    const acks = attempts.filter(ok);
    const label = `send op ${op} (${first.client}, ${marker}, conversation ${conversationId})`;
    if (acks.length === 0) {
      if (found.length > 1) {
        anomalies.push({
          kind: 'errored-send-duplicated',
          detail: `${label}: errored, yet ${found.length} in the log`,
        });
      }
      continue;
    }
    const ack = acks[0]!;
    if (acks.some((a) => a.messageId !== ack.messageId || a.seq !== ack.seq)) {
      anomalies.push({
        kind: 'ack-inconsistent',
        detail: `${label}: answers disagree: ${acks.map((a) => `${a.messageId}@${a.seq}`).join(', ')}`,
      });
    }
    if (found.length === 0) {
      anomalies.push({ kind: 'ack-lost', detail: `${label}: acknowledged at seq ${ack.seq}, not in the log` });
      continue;
    }
    if (found.length > 1) {
      anomalies.push({
        kind: 'ack-duplicated',
        detail: `${label}: in the log ${found.length} times (seqs ${found.map((e) => e.seq).join(', ')})`,
      });
    }
    const atSeq = found.find((e) => e.seq === ack.seq && e.data.messageId === ack.messageId);
    if (!atSeq) {
      anomalies.push({
        kind: 'ack-wrong-seq',
        detail: `${label}: answered ${ack.messageId}@${ack.seq}, the log has ${found.map((e) => `${String(e.data.messageId)}@${e.seq}`).join(', ')}`,
      });
    }
    const inTimeline = (final.timelines[conversationId] ?? []).filter((m) => m.messageId === ack.messageId);
    if (inTimeline.length !== 1 || inTimeline[0]!.seq !== ack.seq) {
      anomalies.push({
        kind: 'ack-lost',
        detail: `${label}: the timeline has it ${inTimeline.length} times (seqs ${inTimeline.map((m) => m.seq).join(', ')}), answered seq ${ack.seq}`,
      });
    }
  }
  return anomalies;
}

/** Seqs are contiguous per conversation, and the timeline read model holds exactly the log's messages. */
export function checkStreams(final: FinalState): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const [conversationId, events] of Object.entries(final.streams)) {
    events.forEach((e, i) => {
      if (e.seq !== i) {
        anomalies.push({ kind: 'stream-gap', detail: `conversation ${conversationId}: event ${i} has seq ${e.seq}` });
      }
    });
    const logMessages = events
      .filter((e) => e.type === 'MessageSent')
      .map((e) => `${e.seq}:${String(e.data.messageId)}`)
      .join(',');
    const timeline = (final.timelines[conversationId] ?? []).map((m) => `${m.seq}:${m.messageId}`).join(',');
    if (logMessages !== timeline) {
      anomalies.push({
        kind: 'timeline-mismatch',
        detail: `conversation ${conversationId}: the timeline's messages differ from the log's (${timeline.split(',').length} vs ${logMessages.split(',').length})`,
      });
    }
  }
  return anomalies;
}

/**
 * Every socket saw, per conversation, the seqs after the one it synced from, each once and
 * in order, across reconnects (each new socket syncs from the last seq its client saw); a
 * `resync` frame moves the start on. At the end every client had seen its conversations' last seq.
 */
export function checkSockets(history: readonly Entry[], final: FinalState): Anomaly[] {
  const anomalies: Anomaly[] = [];
  /** client → conversation → the last seq its sockets delivered. */
  const seen = new Map<string, Map<string, number>>();
  /** `${client}/${socket}` → conversation → the seq expected next. */
  const next = new Map<string, Map<string, number>>();
  for (const entry of history) {
    if (entry.kind !== 'socket' && entry.kind !== 'frame') continue;
    const key = `${entry.client}/${entry.socket}`;
    const clientSeen = seen.get(entry.client) ?? new Map<string, number>();
    seen.set(entry.client, clientSeen);
    if (entry.kind === 'socket') {
      if (entry.event !== 'sync' || !entry.sync) continue;
      const expected = next.get(key) ?? new Map<string, number>();
      next.set(key, expected);
      for (const [conversationId, seq] of Object.entries(entry.sync)) {
        const had = clientSeen.get(conversationId);
        if (had !== undefined && had !== seq) {
          anomalies.push({
            kind: 'socket-gap',
            detail: `${entry.client} socket ${entry.socket} synced ${conversationId} from ${seq}, its client had seen ${had}`,
          });
        }
        expected.set(conversationId, seq + 1);
        if (had === undefined) clientSeen.set(conversationId, seq);
      }
      continue;
    }
    const frame: FrameEntry = entry;
    if (frame.conversationId === undefined || frame.seq === undefined) continue;
    const expected = next.get(key);
    if (frame.type === 'resync') {
      // The protocol's one excuse for skipping events: more than MAX_CATCH_UP missed at a
      // sync (the client then pages them over REST). A resync for anything else (the
      // server saw a gap in what it follows) means events were skipped.
      const had = clientSeen.get(frame.conversationId) ?? -1;
      if (frame.seq - had <= MAX_CATCH_UP) {
        anomalies.push({
          kind: 'socket-gap',
          detail: `${frame.client} socket ${frame.socket}: resync of ${frame.conversationId} from ${had} to ${frame.seq} (${frame.reason ?? 'no reason'})`,
        });
      }
      expected?.set(frame.conversationId, frame.seq + 1);
      clientSeen.set(frame.conversationId, frame.seq);
      continue;
    }
    if (frame.type !== 'event') continue;
    const want = expected?.get(frame.conversationId);
    if (want === undefined) {
      anomalies.push({
        kind: 'socket-gap',
        detail: `${frame.client} socket ${frame.socket}: event ${frame.conversationId}@${frame.seq} of a conversation it did not sync`,
      });
      continue;
    }
    if (frame.seq < want) {
      anomalies.push({
        kind: 'socket-duplicate',
        detail: `${frame.client} socket ${frame.socket}: ${frame.conversationId}@${frame.seq} again (expected ${want})`,
      });
      continue;
    }
    if (frame.seq > want) {
      anomalies.push({
        kind: 'socket-gap',
        detail: `${frame.client} socket ${frame.socket}: ${frame.conversationId} jumped from ${want - 1} to ${frame.seq}`,
      });
    }
    expected!.set(frame.conversationId, frame.seq + 1);
    clientSeen.set(frame.conversationId, frame.seq);
  }
  for (const [client, conversations] of seen) {
    for (const [conversationId, last] of conversations) {
      const head = (final.streams[conversationId]?.length ?? 0) - 1;
      if (last < head) {
        anomalies.push({
          kind: 'socket-behind',
          detail: `${client}: its sockets ended at ${conversationId}@${last}, the conversation at ${head}`,
        });
      }
    }
  }
  return anomalies;
}

/** Whether the event makes the user a member: a direct conversation's start, a group's creation, a join. */
function joins(e: LogEvent, userId: string): boolean {
  const ids = (value: unknown): unknown[] => (Array.isArray(value) ? (value as unknown[]) : []);
  switch (e.type) {
    case 'DirectConversationStarted':
      return ids(e.data.memberIds).includes(userId);
    case 'GroupCreated':
      return e.data.ownerId === userId || ids(e.data.memberIds).includes(userId);
    case 'MemberJoined':
      return e.data.userId === userId;
    default:
      return false;
  }
}

/** What the inbox should say, recomputed from the log. */
export function recomputeInbox(
  userId: string,
  events: readonly LogEvent[],
  receipts: readonly LogEvent[],
  conversationId: string,
): { unreadCount: number; mentionCount: number; readSeq: number } {
  let readSeq = -1;
  for (const r of receipts) {
    if (r.type === 'ConversationRead' && r.data.conversationId === conversationId) {
      readSeq = Math.max(readSeq, Number(r.data.upToSeq));
    }
  }
  const messages = new Map<string, { seq: number; sender: string; deleted: boolean; mentions: unknown }>();
  for (const e of events) {
    const messageId = String(e.data.messageId);
    if (joins(e, userId)) {
      // Whatever was said before joining counts as read (inbox.v1).
      readSeq = Math.max(readSeq, e.seq);
    } else if (e.type === 'MessageSent') {
      messages.set(messageId, {
        seq: e.seq,
        sender: String(e.data.senderId),
        deleted: false,
        mentions: e.data.mentions,
      });
      // A sender has read up to their own message.
      if (e.data.senderId === userId) readSeq = Math.max(readSeq, e.seq);
    } else if (e.type === 'MessageEdited') {
      const m = messages.get(messageId);
      if (m) m.mentions = e.data.mentions;
    } else if (e.type === 'MessageDeleted') {
      const m = messages.get(messageId);
      if (m) m.deleted = true;
    }
  }
  let unreadCount = 0;
  let mentionCount = 0;
  for (const m of messages.values()) {
    if (m.seq <= readSeq || m.deleted) continue;
    unreadCount++;
    const mentions = m.mentions as { userIds?: string[]; all?: boolean } | undefined;
    if (m.sender !== userId && (mentions?.all || mentions?.userIds?.includes(userId))) mentionCount++;
  }
  return { unreadCount, mentionCount, readSeq };
}

/** Unread and mention counts (and read markers) equal a recomputation from the log. */
export function checkCounts(final: FinalState): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const [conversationId, members] of Object.entries(final.members)) {
    const events = final.streams[conversationId] ?? [];
    for (const userId of members) {
      const row = final.inboxes[userId]?.find((r) => r.conversationId === conversationId);
      const want = recomputeInbox(userId, events, final.receipts[userId] ?? [], conversationId);
      const where = `user ${userId}, conversation ${conversationId}`;
      if (!row) {
        anomalies.push({ kind: 'unread-mismatch', detail: `${where}: not in the inbox` });
        continue;
      }
      if (row.unreadCount !== want.unreadCount) {
        anomalies.push({
          kind: 'unread-mismatch',
          detail: `${where}: unread ${row.unreadCount}, the log says ${want.unreadCount}`,
        });
      }
      if (row.mentionCount !== want.mentionCount) {
        anomalies.push({
          kind: 'mention-mismatch',
          detail: `${where}: mentions ${row.mentionCount}, the log says ${want.mentionCount}`,
        });
      }
      if (row.readSeq !== want.readSeq) {
        anomalies.push({
          kind: 'read-seq-mismatch',
          detail: `${where}: readSeq ${row.readSeq}, the log says ${want.readSeq}`,
        });
      }
    }
  }
  return anomalies;
}

/**
 * Kafka has every event of every conversation, in order per key: the records of a key,
 * duplicates (at-least-once redelivery) dropped, are the stream's events in seq order.
 */
export function checkKafka(final: FinalState): Anomaly[] {
  if (!final.kafka) return [];
  const anomalies: Anomaly[] = [];
  const byKey = new Map<string, KafkaRecord[]>();
  for (const r of final.kafka) {
    const list = byKey.get(r.key) ?? [];
    list.push(r);
    byKey.set(r.key, list);
  }
  for (const [conversationId, events] of Object.entries(final.streams)) {
    const key = streamIdOf('conversation', conversationId);
    const records = byKey.get(key) ?? [];
    const firsts: KafkaRecord[] = [];
    const seenIds = new Set<string>();
    for (const r of records) {
      if (seenIds.has(r.eventId)) continue;
      seenIds.add(r.eventId);
      firsts.push(r);
    }
    const logIds = new Set(events.map((e) => e.eventId));
    const unknown = firsts.filter((r) => !logIds.has(r.eventId));
    if (unknown.length > 0) {
      anomalies.push({
        kind: 'kafka-unknown',
        detail: `${key}: ${unknown.length} records of events the log does not have`,
      });
    }
    const missing = events.filter((e) => !seenIds.has(e.eventId));
    if (missing.length > 0) {
      anomalies.push({
        kind: 'kafka-missing',
        detail: `${key}: ${missing.length} events not in Kafka (seqs ${missing
          .slice(0, 10)
          .map((e) => e.seq)
          .join(', ')}${missing.length > 10 ? ', …' : ''})`,
      });
    }
    const known = firsts.filter((r) => logIds.has(r.eventId));
    for (let i = 1; i < known.length; i++) {
      if (known[i]!.streamRevision <= known[i - 1]!.streamRevision) {
        anomalies.push({
          kind: 'kafka-order',
          detail: `${key}: revision ${known[i]!.streamRevision} after ${known[i - 1]!.streamRevision}`,
        });
        break;
      }
    }
  }
  return anomalies;
}

/** Every query that carried a checkpoint and was answered 200 showed the write it followed. */
export function checkReadYourWrites(history: readonly Entry[]): Anomaly[] {
  const anomalies: Anomaly[] = [];
  for (const r of requests(history)) {
    if (!r.after || !r.expect || r.status !== 200) continue;
    const e = r.expect;
    if (e.kind === 'message') {
      if (!r.page?.some((m) => m.messageId === e.messageId && m.seq === e.seq)) {
        anomalies.push({
          kind: 'read-your-writes',
          detail: `${r.client} ${r.method} ${r.path}: after ${r.after}, message ${e.messageId}@${e.seq} missing`,
        });
      }
    } else if ((r.readSeq ?? -1) < e.readSeq) {
      anomalies.push({
        kind: 'read-your-writes',
        detail: `${r.client} ${r.method} ${r.path}: after ${r.after}, readSeq ${r.readSeq ?? 'absent'} < ${e.readSeq}`,
      });
    }
  }
  return anomalies;
}

/** A fault's window: from its start to its recovery (or end, if it never recovered) plus the grace. */
function windows(history: readonly Entry[], graceMs: number): [number, number][] {
  return history
    .filter((e): e is FaultEntry => e.kind === 'fault')
    .map((f) => [f.startAt, (f.recoveredAt ?? f.endAt) + graceMs]);
}

/**
 * No 5xx but 503, and 503s and unanswered requests only while a fault was on (or just
 * after, within the grace); every fault recovered within the bound; Herald never exited
 * on its own.
 */
export function checkAvailability(history: readonly Entry[], options: CheckOptions = DEFAULT_CHECK_OPTIONS): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const faultWindows = windows(history, options.graceMs);
  // A request overlapping a window is excused: it may have been sent before the fault.
  const inFault = (r: RequestEntry): boolean => faultWindows.some(([from, to]) => r.endAt >= from && r.at <= to);
  for (const r of requests(history)) {
    const what = `${r.client} ${r.method} ${r.path} at ${Math.round(r.at)} ms`;
    if (r.status !== undefined && r.status >= 500 && r.status !== 503) {
      anomalies.push({ kind: 'server-error', detail: `${what}: ${r.status} ${r.error ?? ''}`.trim() });
    } else if (r.status === 503 && !inFault(r)) {
      anomalies.push({ kind: 'unavailable-without-fault', detail: `${what}: 503 ${r.error ?? ''}`.trim() });
    } else if (r.status === undefined && !inFault(r)) {
      anomalies.push({ kind: 'failed-without-fault', detail: `${what}: ${r.error ?? 'no answer'}` });
    }
  }
  for (const e of history) {
    if (e.kind === 'fault') {
      if (e.recoveryMs === undefined || e.recoveryMs > options.recoveryBoundMs) {
        anomalies.push({
          kind: 'slow-recovery',
          detail: `${e.fault} at ${Math.round(e.startAt)} ms: recovered ${e.recoveryMs === undefined ? 'never' : `in ${e.recoveryMs} ms`} (bound ${options.recoveryBoundMs} ms)`,
        });
      }
    } else if (e.kind === 'server' && e.event === 'exited' && !e.expected) {
      anomalies.push({
        kind: 'server-crash',
        detail: `Herald (pid ${e.pid}) exited on its own at ${Math.round(e.at)} ms: code ${e.code}, signal ${e.signal}`,
      });
    }
  }
  return anomalies;
}

export function check(history: readonly Entry[], final: FinalState, options = DEFAULT_CHECK_OPTIONS): Anomaly[] {
  return [
    ...checkSends(history, final),
    ...checkStreams(final),
    ...checkSockets(history, final),
    ...checkCounts(final),
    ...checkKafka(final),
    ...checkReadYourWrites(history),
    ...checkAvailability(history, options),
  ];
}
