/**
 * The checker against hand-made histories: a clean one passes, and each kind of anomaly it
 * looks for is found when a history has it. A chaos run that finds nothing is only worth
 * something if this holds.
 */
import { streamIdOf } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { check, recomputeInbox, type AnomalyKind, type FinalState, type LogEvent } from './checker.js';
import type { Entry, FrameEntry, RequestEntry, SocketEntry } from './history.js';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = 'c0000000-0000-4000-8000-000000000001';
const M1 = 'm0000000-0000-4000-8000-000000000001';
const M2 = 'm0000000-0000-4000-8000-000000000002';

const started: LogEvent = { seq: 0, eventId: 'e0', type: 'DirectConversationStarted', data: {} };
const sent = (seq: number, messageId: string, marker: string, sender = A, mentions: string[] = []): LogEvent => ({
  seq,
  eventId: `e${seq}`,
  type: 'MessageSent',
  data: { messageId, senderId: sender, text: `${marker} hi`, mentions: { userIds: mentions, all: false } },
});

function send(
  op: number,
  marker: string,
  at: number,
  answer: { status?: number; seq?: number; messageId?: string },
): RequestEntry {
  return {
    kind: 'request',
    client: 'a',
    op,
    opKind: 'send',
    method: 'POST',
    path: `/conversations/${C}/messages`,
    at,
    endAt: at + 5,
    conversationId: C,
    clientMessageId: `x-${marker}`,
    marker,
    ...(answer.status !== undefined ? { status: answer.status } : { error: 'ECONNREFUSED' }),
    ...(answer.seq !== undefined ? { seq: answer.seq, checkpoint: `k${answer.seq}` } : {}),
    ...(answer.messageId !== undefined ? { messageId: answer.messageId } : {}),
  };
}
const sync = (socket: number, seq: number, at: number): SocketEntry => ({
  kind: 'socket',
  client: 'b',
  socket,
  at,
  event: 'sync',
  sync: { [C]: seq },
});
const frame = (socket: number, seq: number, at: number, type = 'event', reason?: string): FrameEntry => ({
  kind: 'frame',
  client: 'b',
  socket,
  at,
  type,
  conversationId: C,
  seq,
  ...(reason ? { reason } : {}),
});

/** A clean run: a sends twice (the first retried after an error), b's socket reconnects once. */
function clean(): { history: Entry[]; final: FinalState } {
  const history: Entry[] = [
    sync(1, -1, 0),
    frame(1, 0, 1),
    { kind: 'fault', fault: 'herald-kill', startAt: 10, endAt: 20, recoveredAt: 30, recoveryMs: 10 },
    send(1, 'a-1', 15, {}),
    send(1, 'a-1', 40, { status: 201, seq: 1, messageId: M1 }),
    frame(1, 1, 41),
    sync(2, 1, 50),
    send(2, 'a-2', 60, { status: 201, seq: 2, messageId: M2 }),
    frame(2, 2, 61),
  ];
  const final: FinalState = {
    users: { a: A, b: B },
    members: { [C]: [A, B] },
    streams: { [C]: [started, sent(1, M1, 'a-1'), sent(2, M2, 'a-2', A, [B])] },
    receipts: {
      [A]: [],
      [B]: [{ seq: 0, eventId: 'r0', type: 'ConversationRead', data: { conversationId: C, upToSeq: 1 } }],
    },
    timelines: {
      [C]: [
        { seq: 1, messageId: M1, deleted: false },
        { seq: 2, messageId: M2, deleted: false },
      ],
    },
    inboxes: {
      [A]: [{ conversationId: C, lastSeq: 2, unreadCount: 0, mentionCount: 0, readSeq: 2 }],
      [B]: [{ conversationId: C, lastSeq: 2, unreadCount: 1, mentionCount: 1, readSeq: 1 }],
    },
    kafka: [0, 1, 2].map((seq) => ({ key: streamIdOf('conversation', C), eventId: `e${seq}`, streamRevision: seq })),
  };
  return { history, final };
}

const kinds = (history: Entry[], final: FinalState): AnomalyKind[] => check(history, final).map((a) => a.kind);

describe('the chaos checker', () => {
  it('finds nothing in a clean history', () => {
    const { history, final } = clean();
    expect(check(history, final)).toEqual([]);
  });

  it('finds an acknowledged send missing from the log and the timeline', () => {
    const { history, final } = clean();
    const streams = { [C]: final.streams[C]!.slice(0, 2) };
    const timelines = { [C]: final.timelines[C]!.slice(0, 1) };
    expect(kinds(history, { ...final, streams, timelines, kafka: undefined })).toContain('ack-lost');
  });

  it('finds an acknowledged send written twice', () => {
    const { history, final } = clean();
    const again = sent(3, 'm3', 'a-2');
    const streams = { [C]: [...final.streams[C]!, again] };
    expect(kinds(history, { ...final, streams })).toContain('ack-duplicated');
  });

  it('finds an acknowledged send at another seq than answered', () => {
    const { history, final } = clean();
    const entries = history.map((e) => (e.kind === 'request' && e.marker === 'a-2' ? { ...e, seq: 5 } : e));
    expect(kinds(entries, final)).toContain('ack-wrong-seq');
  });

  it('finds retries of one send answered with different messages', () => {
    const { history, final } = clean();
    history.push(send(2, 'a-2', 70, { status: 201, seq: 3, messageId: 'other' }));
    expect(kinds(history, final)).toContain('ack-inconsistent');
  });

  it('finds a send that errored and was written twice', () => {
    const { history, final } = clean();
    history.push(send(9, 'a-9', 70, { status: 503 }));
    const streams = { [C]: [...final.streams[C]!, sent(3, 'm3', 'a-9'), sent(4, 'm4', 'a-9')] };
    expect(kinds(history, { ...final, streams })).toContain('errored-send-duplicated');
  });

  it('finds a gap in a conversation’s seqs and a timeline that differs from the log', () => {
    const { history, final } = clean();
    const streams = { [C]: [started, sent(1, M1, 'a-1'), sent(3, M2, 'a-2')] };
    const found = kinds(history, { ...final, streams });
    expect(found).toContain('stream-gap');
    expect(found).toContain('timeline-mismatch');
  });

  it('finds a socket that skipped a seq, one that got a seq twice, and a resync that hides a gap', () => {
    const { history, final } = clean();
    expect(kinds([...history.slice(0, 6), frame(1, 3, 45)], final)).toContain('socket-gap');
    expect(kinds([...history, frame(2, 2, 62)], final)).toContain('socket-duplicate');
    const resynced = [...history.slice(0, 6), frame(1, 2, 45, 'resync', 'gap')];
    expect(kinds(resynced, final)).toContain('socket-gap');
  });

  it('finds a reconnect that synced from another seq than its client had seen', () => {
    const { history, final } = clean();
    const entries = history.map((e) => (e.kind === 'socket' && e.socket === 2 ? sync(2, 0, 50) : e));
    expect(kinds(entries, final)).toContain('socket-gap');
  });

  it('finds sockets that never got a conversation’s last events', () => {
    const { history, final } = clean();
    expect(kinds(history.slice(0, -1), final)).toContain('socket-behind');
  });

  it('finds unread, mention and read-marker counts that differ from the log', () => {
    const { history, final } = clean();
    const inboxes = {
      ...final.inboxes,
      [B]: [{ conversationId: C, lastSeq: 2, unreadCount: 2, mentionCount: 0, readSeq: 0 }],
    };
    const found = kinds(history, { ...final, inboxes });
    expect(found).toContain('unread-mismatch');
    expect(found).toContain('mention-mismatch');
    expect(found).toContain('read-seq-mismatch');
  });

  it('recomputes counts: deleted messages and edits that drop a mention leave them', () => {
    const events: LogEvent[] = [
      started,
      sent(1, M1, 'a-1', A, [B]),
      sent(2, M2, 'a-2', A, [B]),
      { seq: 3, eventId: 'e3', type: 'MessageDeleted', data: { messageId: M1 } },
      { seq: 4, eventId: 'e4', type: 'MessageEdited', data: { messageId: M2, mentions: { userIds: [], all: false } } },
    ];
    expect(recomputeInbox(B, events, [], C)).toEqual({ unreadCount: 1, mentionCount: 0, readSeq: -1 });
    expect(recomputeInbox(A, events, [], C)).toEqual({ unreadCount: 0, mentionCount: 0, readSeq: 2 });
  });

  it('recomputes counts: a member has read what was said before they joined', () => {
    const events: LogEvent[] = [
      { seq: 0, eventId: 'e0', type: 'GroupCreated', data: { ownerId: A, memberIds: [] } },
      sent(1, M1, 'a-1'),
      { seq: 2, eventId: 'e2', type: 'MemberJoined', data: { userId: B } },
      sent(3, M2, 'a-2'),
    ];
    expect(recomputeInbox(B, events, [], C)).toEqual({ unreadCount: 1, mentionCount: 0, readSeq: 2 });
    const started = { seq: 0, eventId: 'e0', type: 'DirectConversationStarted', data: { memberIds: [A, B] } };
    expect(recomputeInbox(B, [started], [], C)).toEqual({ unreadCount: 0, mentionCount: 0, readSeq: 0 });
  });

  it('finds Kafka records missing, out of order per key, or of events the log does not have', () => {
    const { history, final } = clean();
    const records = final.kafka!;
    expect(kinds(history, { ...final, kafka: records.slice(0, 2) })).toContain('kafka-missing');
    expect(kinds(history, { ...final, kafka: [records[0]!, records[2]!, records[1]!] })).toContain('kafka-order');
    const stranger = { key: streamIdOf('conversation', C), eventId: 'nope', streamRevision: 9 };
    expect(kinds(history, { ...final, kafka: [...records, stranger] })).toContain('kafka-unknown');
    // At-least-once: a batch delivered again is no anomaly.
    expect(kinds(history, { ...final, kafka: [...records, records[1]!, records[2]!] })).toEqual([]);
  });

  it('finds a query with a checkpoint that did not show the write', () => {
    const { history, final } = clean();
    const query: RequestEntry = {
      kind: 'request',
      client: 'a',
      op: 7,
      opKind: 'query-messages',
      method: 'GET',
      path: `/conversations/${C}/messages`,
      at: 80,
      endAt: 81,
      status: 200,
      after: 'k2',
      expect: { kind: 'message', conversationId: C, messageId: M2, seq: 2 },
      page: [{ seq: 1, messageId: M1 }],
    };
    expect(kinds([...history, query], final)).toEqual(['read-your-writes']);
    const inbox: RequestEntry = {
      ...query,
      opKind: 'query-inbox',
      expect: { kind: 'read', conversationId: C, readSeq: 2 },
      readSeq: 1,
    };
    expect(kinds([...history, inbox], final)).toEqual(['read-your-writes']);
    // A 503 (PROJECTIONS.BEHIND) is an answer, not a stale read.
    expect(kinds([...history, { ...query, status: 503, at: 12, endAt: 13 }], final)).toEqual([]);
  });

  it('finds a 500, a 503 and a failed request with no fault on, a slow recovery and a crash', () => {
    const { history, final } = clean();
    const at = 100_000;
    expect(kinds([...history, send(20, 'a-20', at, { status: 500 })], final)).toContain('server-error');
    expect(kinds([...history, send(21, 'a-21', at, { status: 503 })], final)).toContain('unavailable-without-fault');
    expect(kinds([...history, send(22, 'a-22', at, {})], final)).toContain('failed-without-fault');
    // Within a fault's window (up to its recovery and the grace), 503 and no answer are expected.
    expect(kinds([...history, send(23, 'a-23', 35, { status: 503 })], final)).toEqual([]);
    const slow = {
      kind: 'fault',
      fault: 'postgres-pause',
      startAt: 1,
      endAt: 2,
      recoveredAt: 40_000,
      recoveryMs: 39_998,
    } as const;
    expect(kinds([...history, slow], final)).toContain('slow-recovery');
    const never = { kind: 'fault', fault: 'kafka-freeze', startAt: 1, endAt: 2 } as const;
    expect(kinds([...history, never], final)).toContain('slow-recovery');
    const crash = { kind: 'server', at: 5, event: 'exited', pid: 1, code: 1, signal: null, expected: false } as const;
    expect(kinds([...history, crash], final)).toEqual(['server-crash']);
  });
});
