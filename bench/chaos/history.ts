/**
 * The chaos run's history: every request with its answer or error, every frame a socket
 * received, every socket opened and closed, every fault and server start or exit, in the
 * order they happened (one process appends them all). The checker reads nothing else of
 * the run but this and the final state.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export const FAULT_KINDS = [
  'herald-kill',
  'postgres-kill',
  'postgres-pause',
  'kafka-freeze',
  'slow-client',
  'reconnect-burst',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** What an operation was: retries of one operation share its `op` number. */
export type OpKind = 'setup' | 'send' | 'edit' | 'delete' | 'read' | 'query-messages' | 'query-inbox' | 'probe';

/** What a query that carried a checkpoint must show (read-your-writes). */
export type Expectation =
  | { readonly kind: 'message'; readonly conversationId: string; readonly messageId: string; readonly seq: number }
  | { readonly kind: 'read'; readonly conversationId: string; readonly readSeq: number };

export interface RequestEntry {
  readonly kind: 'request';
  readonly client: string;
  readonly op: number;
  readonly opKind: OpKind;
  readonly method: string;
  readonly path: string;
  /** Milliseconds since the run began. */
  readonly at: number;
  readonly endAt: number;
  /** The HTTP status; absent when the request got no answer (connection refused or reset, timeout). */
  readonly status?: number;
  readonly error?: string;
  readonly conversationId?: string;
  /** Sends: the clientMessageId, and the marker the text starts with (the same across retries). */
  readonly clientMessageId?: string;
  readonly marker?: string;
  /** Commands' answers. */
  readonly seq?: number;
  readonly messageId?: string;
  readonly checkpoint?: string;
  /** Queries: the checkpoint carried (`?after=`), what it must show, and what the answer held. */
  readonly after?: string;
  readonly expect?: Expectation;
  /** query-messages: the page's (seq, messageId); query-inbox: the conversation's readSeq. */
  readonly page?: readonly { readonly seq: number; readonly messageId: string }[];
  readonly readSeq?: number;
}

export interface SocketEntry {
  readonly kind: 'socket';
  readonly client: string;
  readonly socket: number;
  readonly at: number;
  readonly event: 'open' | 'sync' | 'close' | 'error';
  readonly sync?: Readonly<Record<string, number>>;
  readonly code?: number;
  readonly reason?: string;
}

export interface FrameEntry {
  readonly kind: 'frame';
  readonly client: string;
  readonly socket: number;
  readonly at: number;
  readonly type: string;
  readonly conversationId?: string;
  readonly seq?: number;
  readonly code?: string;
  /** A resync's reason. */
  readonly reason?: string;
}

export interface FaultEntry {
  readonly kind: 'fault';
  readonly fault: FaultKind;
  readonly startAt: number;
  /** When the fault was lifted (SIGCONT, restart, thaw); for a kill, when it was done. */
  readonly endAt: number;
  /** When /health/ready answered 200 and a send succeeded after endAt; absent if never. */
  readonly recoveredAt?: number;
  readonly recoveryMs?: number;
  readonly note?: string;
}

export interface ServerEntry {
  readonly kind: 'server';
  readonly at: number;
  readonly event: 'started' | 'exited';
  readonly pid?: number;
  readonly code?: number | null;
  readonly signal?: string | null;
  /** An exit the nemesis caused (kill -9) or the harness asked for (the final stop). */
  readonly expected?: boolean;
}

export type Entry = RequestEntry | SocketEntry | FrameEntry | FaultEntry | ServerEntry;

/** Appends entries in memory (for the checker) and, when given a file, as JSON lines. */
export class History {
  readonly entries: Entry[] = [];
  private readonly began = performance.now();
  private readonly file: WriteStream | undefined;

  constructor(path?: string) {
    this.file = path ? createWriteStream(path) : undefined;
  }

  /** Milliseconds since the run began. */
  now(): number {
    return Math.round((performance.now() - this.began) * 10) / 10;
  }

  add(entry: Entry): void {
    this.entries.push(entry);
    this.file?.write(JSON.stringify(entry) + '\n');
  }

  close(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }
}
