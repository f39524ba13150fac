/**
 * The chat workload of a chaos run, through the public API only: users who register, start
 * direct conversations and groups, then each loop over sends (retried with the same
 * `clientMessageId` after an error), edits, deletions, reads and queries that carry the
 * checkpoint of the user's last write; each user keeps one WebSocket open, synced on every
 * conversation it is in, and reconnects (with `sync` from the last seq it saw) whenever the
 * socket closes. Everything is recorded in the history.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import type { Expectation, History, OpKind, RequestEntry } from './history.js';
import type { Prng } from './prng.js';

export interface Endpoint {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly history: History;
}

type Json = Record<string, unknown>;

export interface Answer {
  readonly status?: number;
  readonly body?: Json;
}

let nextOp = 1;
export const newOp = (): number => nextOp++;

/** Answers' fields the history keeps, by what the request was. */
function summary(body: Json | undefined): Partial<RequestEntry> {
  if (!body) return {};
  const out: { -readonly [K in keyof RequestEntry]?: RequestEntry[K] } = {};
  if (typeof body.seq === 'number') out.seq = body.seq;
  if (typeof body.messageId === 'string') out.messageId = body.messageId;
  if (typeof body.checkpoint === 'string') out.checkpoint = body.checkpoint;
  const error = body.error as { code?: unknown } | undefined;
  if (error && typeof error.code === 'string') out.error = error.code;
  return out;
}

export interface CallOptions {
  readonly client: string;
  readonly op: number;
  readonly opKind: OpKind;
  readonly token?: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
  /** Recorded with the request. */
  readonly extra?: Partial<RequestEntry>;
  /** Fields of the answer to record (pages, read markers). */
  readonly inspect?: (body: Json) => Partial<RequestEntry>;
}

/** One HTTP request, recorded with its answer or error. */
export async function call(endpoint: Endpoint, method: string, path: string, o: CallOptions): Promise<Answer> {
  const history = endpoint.history;
  const at = history.now();
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  let status: number | undefined;
  let body: Json | undefined;
  let error: string | undefined;
  try {
    const response = await fetch(`${endpoint.url}${path}`, {
      method,
      headers,
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
      signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
    });
    const text = await response.text();
    status = response.status;
    try {
      body = text ? (JSON.parse(text) as Json) : undefined;
    } catch {
      body = undefined;
    }
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    error = cause?.code ?? (e instanceof Error ? e.name : String(e));
    status = undefined;
  }
  const entry: RequestEntry = {
    kind: 'request',
    client: o.client,
    op: o.op,
    opKind: o.opKind,
    method,
    path,
    at,
    endAt: history.now(),
    ...(status !== undefined ? { status } : {}),
    ...(error !== undefined ? { error } : {}),
    ...o.extra,
    ...summary(body),
    ...(body && o.inspect && status === 200 ? o.inspect(body) : {}),
  };
  history.add(entry);
  return { status, body };
}

const retriable = (a: Answer): boolean =>
  a.status === undefined || a.status >= 500 || a.status === 429 || a.status === 409;
const success = (a: Answer): boolean => a.status !== undefined && a.status >= 200 && a.status < 300;

/** Repeats a request (same op, same body) until it succeeds, is refused, or `deadlineMs` passes. */
export async function retry(
  endpoint: Endpoint,
  method: string,
  path: string,
  o: CallOptions,
  deadlineMs = 180_000,
  stop?: () => boolean,
): Promise<Answer> {
  const until = Date.now() + deadlineMs;
  let wait = 100;
  for (;;) {
    const answer = await call(endpoint, method, path, o);
    if (!retriable(answer) || Date.now() > until || stop?.()) return answer;
    await sleep(wait);
    wait = Math.min(2_000, wait * 2);
  }
}

export interface Conversation {
  readonly id: string;
  readonly kind: 'direct' | 'group';
  readonly members: readonly string[];
}

interface Sent {
  readonly conversationId: string;
  readonly messageId: string;
  readonly marker: string;
  edits: number;
}

/** One user: their socket and their loop of operations. */
export class ChatClient {
  readonly conversations: Conversation[] = [];
  /** The last seq this client's sockets delivered, per conversation. */
  readonly lastSeq = new Map<string, number>();
  private socket: WebSocket | undefined;
  private socketNo = 0;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly sent: Sent[] = [];
  private sends = 0;
  private lastSend: { conversationId: string; messageId: string; seq: number; checkpoint: string } | undefined;
  private lastRead: { conversationId: string; readSeq: number; checkpoint: string } | undefined;
  /** Users this client names in group mentions: id → name. */
  operations = 0;

  constructor(
    readonly name: string,
    readonly userId: string,
    readonly token: string,
    private readonly endpoint: Endpoint,
    private readonly prng: Prng,
    private readonly tag: string,
  ) {}

  join(conversation: Conversation): void {
    this.conversations.push(conversation);
    this.lastSeq.set(conversation.id, -1);
  }

  // ------------------------------------------------------------------ socket

  connect(): void {
    if (this.stopped) return;
    const history = this.endpoint.history;
    const socketNo = ++this.socketNo;
    const socket = new WebSocket(`${this.endpoint.url.replace('http', 'ws')}/ws`, {
      headers: { authorization: `Bearer ${this.token}` },
      perMessageDeflate: false,
    });
    this.socket = socket;
    const record = (
      event: 'open' | 'sync' | 'close' | 'error',
      more: { code?: number; reason?: string; sync?: Record<string, number> } = {},
    ) => history.add({ kind: 'socket', client: this.name, socket: socketNo, at: history.now(), event, ...more });
    socket.on('open', () => {
      record('open');
      const conversations = Object.fromEntries(this.conversations.map((c) => [c.id, this.lastSeq.get(c.id) ?? -1]));
      record('sync', { sync: conversations });
      socket.send(JSON.stringify({ type: 'sync', conversations }));
    });
    socket.on('message', (data: Buffer) => {
      let frame: Json;
      try {
        frame = JSON.parse(data.toString('utf8')) as Json;
      } catch {
        return;
      }
      const type = String(frame.type);
      const conversationId = typeof frame.conversationId === 'string' ? frame.conversationId : undefined;
      const seq = typeof frame.seq === 'number' ? frame.seq : undefined;
      const code = typeof frame.code === 'string' ? frame.code : undefined;
      const reason = typeof frame.reason === 'string' ? frame.reason : undefined;
      history.add({
        kind: 'frame',
        client: this.name,
        socket: socketNo,
        at: history.now(),
        type,
        ...(conversationId !== undefined ? { conversationId } : {}),
        ...(seq !== undefined ? { seq } : {}),
        ...(code !== undefined ? { code } : {}),
        ...(reason !== undefined ? { reason } : {}),
      });
      if ((type === 'event' || type === 'resync') && conversationId !== undefined && seq !== undefined) {
        this.lastSeq.set(conversationId, Math.max(this.lastSeq.get(conversationId) ?? -1, seq));
        this.failures = 0;
      } else if (type === 'synced') {
        this.failures = 0;
      } else if (type === 'error') {
        // A sync refused while a store is down (PUSH.UNAVAILABLE) or over budget: start again.
        this.reconnect(500);
      }
    });
    socket.on('error', (e: Error) => record('error', { reason: e.message }));
    socket.on('close', (code: number, reason: Buffer) => {
      record('close', { code, reason: reason.toString('utf8') });
      if (this.socket === socket) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.failures++;
    const delay = Math.min(2_000, 100 * 2 ** Math.min(this.failures, 5)) * (0.5 + this.prng.next());
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delay);
  }

  /** Drops the socket (its later frames are not this client's) and opens another after `delayMs`. */
  reconnect(delayMs = 0): void {
    const old = this.socket;
    this.socket = undefined;
    if (old) {
      old.removeAllListeners();
      old.on('error', () => undefined);
      old.terminate();
      this.endpoint.history.add({
        kind: 'socket',
        client: this.name,
        socket: this.socketNo,
        at: this.endpoint.history.now(),
        event: 'close',
        reason: 'reconnect',
      });
    }
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delayMs);
  }

  /** Stops reading the socket (a slow client: the server's buffer for it fills up). */
  pauseReading(): void {
    this.socket?.pause();
  }

  resumeReading(): void {
    this.socket?.resume();
  }

  closeSocket(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      socket.removeAllListeners();
      socket.on('error', () => undefined);
      socket.terminate();
    }
  }

  // ------------------------------------------------------------------ operations

  /** Runs operations until `stop()` says so, `thinkMs` apart. */
  async run(stop: () => boolean, thinkMs: readonly [number, number]): Promise<void> {
    while (!stop()) {
      await sleep(this.prng.int(thinkMs[0], thinkMs[1]));
      if (stop()) break;
      await this.step(stop);
      this.operations++;
    }
  }

  private async step(stop: () => boolean): Promise<void> {
    const r = this.prng.next();
    if (r < 0.55) return this.send(stop);
    if (r < 0.63) return this.edit(stop);
    if (r < 0.66) return this.remove(stop);
    if (r < 0.8) return this.read(stop);
    if (r < 0.9) return this.queryMessages();
    if (r < 0.96) return this.queryInbox();
    this.reconnect(0);
  }

  private base(conversationId: string): string {
    return `/conversations/${conversationId}`;
  }

  async send(stop: () => boolean, abandonOnError = this.prng.next() < 0.1): Promise<void> {
    const conversation = this.prng.pick(this.conversations);
    const n = ++this.sends;
    const marker = `${this.name}-${n}`;
    const others = conversation.members.filter((m) => m !== this.userId);
    const mention = conversation.kind === 'group' && this.prng.next() < 0.3 ? [this.prng.pick(others)] : [];
    const body = {
      clientMessageId: `${this.tag}-${marker}`,
      text: `${marker} hello from ${this.name}`,
      mentions: { userIds: mention, all: false },
    };
    const options: CallOptions = {
      client: this.name,
      op: newOp(),
      opKind: 'send',
      token: this.token,
      body,
      extra: { conversationId: conversation.id, clientMessageId: body.clientMessageId, marker },
    };
    const path = `${this.base(conversation.id)}/messages`;
    const answer = abandonOnError
      ? await call(this.endpoint, 'POST', path, options)
      : await retry(this.endpoint, 'POST', path, options, 180_000, stop);
    if (success(answer) && answer.body) {
      const messageId = String(answer.body.messageId);
      this.sent.push({ conversationId: conversation.id, messageId, marker, edits: 0 });
      if (this.sent.length > 50) this.sent.shift();
      this.lastSend = {
        conversationId: conversation.id,
        messageId,
        seq: Number(answer.body.seq),
        checkpoint: String(answer.body.checkpoint),
      };
    }
  }

  private async edit(stop: () => boolean): Promise<void> {
    const message = this.sent.length > 0 ? this.prng.pick(this.sent) : undefined;
    if (!message) return this.send(stop);
    const conversation = this.conversations.find((c) => c.id === message.conversationId)!;
    const others = conversation.members.filter((m) => m !== this.userId);
    const mention = conversation.kind === 'group' && this.prng.next() < 0.5 ? [this.prng.pick(others)] : [];
    message.edits++;
    await retry(
      this.endpoint,
      'PATCH',
      `${this.base(message.conversationId)}/messages/${message.messageId}`,
      {
        client: this.name,
        op: newOp(),
        opKind: 'edit',
        token: this.token,
        body: {
          text: `${message.marker} edited ${message.edits} by ${this.name}`,
          mentions: { userIds: mention, all: false },
        },
        extra: { conversationId: message.conversationId },
      },
      180_000,
      stop,
    );
  }

  private async remove(stop: () => boolean): Promise<void> {
    const index = this.sent.length > 0 ? this.prng.int(0, this.sent.length - 1) : -1;
    const message = this.sent[index];
    if (!message) return this.send(stop);
    this.sent.splice(index, 1);
    await retry(
      this.endpoint,
      'DELETE',
      `${this.base(message.conversationId)}/messages/${message.messageId}`,
      {
        client: this.name,
        op: newOp(),
        opKind: 'delete',
        token: this.token,
        extra: { conversationId: message.conversationId },
      },
      180_000,
      stop,
    );
  }

  private async read(stop: () => boolean): Promise<void> {
    const conversation = this.prng.pick(this.conversations);
    const upToSeq = this.lastSeq.get(conversation.id) ?? -1;
    if (upToSeq < 0) return;
    const answer = await retry(
      this.endpoint,
      'POST',
      `${this.base(conversation.id)}/read`,
      {
        client: this.name,
        op: newOp(),
        opKind: 'read',
        token: this.token,
        body: { upToSeq },
        extra: { conversationId: conversation.id },
      },
      180_000,
      stop,
    );
    if (success(answer) && answer.body) {
      this.lastRead = { conversationId: conversation.id, readSeq: upToSeq, checkpoint: String(answer.body.checkpoint) };
    }
  }

  /** Read-your-writes: the last message this user sent, read with its checkpoint. */
  private async queryMessages(): Promise<void> {
    const last = this.lastSend;
    if (!last) return;
    const expect: Expectation = { kind: 'message', ...last };
    await call(
      this.endpoint,
      'GET',
      `${this.base(last.conversationId)}/messages?since=${last.seq - 1}&limit=10&after=${encodeURIComponent(last.checkpoint)}`,
      {
        client: this.name,
        op: newOp(),
        opKind: 'query-messages',
        token: this.token,
        extra: { conversationId: last.conversationId, after: last.checkpoint, expect },
        inspect: (body) => ({
          page: ((body.messages ?? []) as { seq: number; messageId: string }[]).map((m) => ({
            seq: m.seq,
            messageId: m.messageId,
          })),
        }),
      },
    );
  }

  /** Read-your-writes: the inbox shows the last read marker this user moved. */
  private async queryInbox(): Promise<void> {
    const last = this.lastRead;
    if (!last) return;
    const expect: Expectation = { kind: 'read', conversationId: last.conversationId, readSeq: last.readSeq };
    await call(this.endpoint, 'GET', `/conversations?limit=100&after=${encodeURIComponent(last.checkpoint)}`, {
      client: this.name,
      op: newOp(),
      opKind: 'query-inbox',
      token: this.token,
      extra: { conversationId: last.conversationId, after: last.checkpoint, expect },
      inspect: (body) => {
        const row = ((body.conversations ?? []) as { conversationId: string; readSeq: number }[]).find(
          (c) => c.conversationId === last.conversationId,
        );
        return row ? { readSeq: row.readSeq } : {};
      },
    });
  }
}

export interface World {
  readonly clients: ChatClient[];
  readonly conversations: Conversation[];
  /** The user the nemesis's probe sends come from, and its conversation. */
  readonly probe: { readonly client: ChatClient; readonly conversationId: string };
}

/** Registers `users` users and a probe user, and starts their conversations: a ring of direct ones, two groups. */
export async function setUp(endpoint: Endpoint, users: number, prng: Prng): Promise<World> {
  const tag = randomBytes(3).toString('hex');
  const setup = async (client: string, method: string, path: string, token: string | undefined, body: unknown) => {
    const answer = await retry(endpoint, method, path, { client, op: newOp(), opKind: 'setup', token, body }, 60_000);
    if (!success(answer) || !answer.body) throw new Error(`setup ${method} ${path} failed: ${answer.status}`);
    return answer.body;
  };
  const names = [...Array.from({ length: users }, (_, i) => `u${i}`), 'probe'];
  const clients: ChatClient[] = [];
  for (const name of names) {
    const tokens = await setup(name, 'POST', '/auth/register', undefined, {
      username: `chaos${tag}${name}`,
      password: 'chaos password',
      displayName: name,
    });
    clients.push(
      new ChatClient(name, String(tokens.userId), String(tokens.accessToken), endpoint, prng.fork(), `${tag}`),
    );
  }
  const probe = clients.pop()!;
  const conversations: Conversation[] = [];
  const add = (conversation: Conversation, members: ChatClient[]) => {
    conversations.push(conversation);
    for (const m of members) m.join(conversation);
  };
  const direct = async (a: ChatClient, b: ChatClient) => {
    const answer = await setup(a.name, 'POST', '/conversations/direct', a.token, { userId: b.userId });
    const id = String(answer.conversationId);
    add({ id, kind: 'direct', members: [a.userId, b.userId] }, [a, b]);
    return id;
  };
  for (let i = 0; i < clients.length; i++) {
    for (const step of [1, 2]) {
      const j = (i + step) % clients.length;
      if (j !== i && !(step === 2 && clients.length <= 4)) await direct(clients[i]!, clients[j]!);
    }
  }
  const half = Math.ceil(clients.length / 2);
  const groups = [clients.slice(0, half + 1), clients.slice(half - 1)];
  for (const [g, members] of groups.entries()) {
    const [owner, ...rest] = members;
    const answer = await setup(owner!.name, 'POST', '/conversations/groups', owner!.token, {
      name: `chaos group ${g}`,
      memberIds: rest.map((m) => m.userId),
    });
    add({ id: String(answer.conversationId), kind: 'group', members: members.map((m) => m.userId) }, members);
  }
  // The probe's own direct conversation, with the first user (whose socket sees it too).
  const probeConversation = await direct(probe, clients[0]!);
  return { clients, conversations, probe: { client: probe, conversationId: probeConversation } };
}

/** One send, one attempt (the nemesis's probe that Herald is back): whether it was answered 2xx. */
export async function probeSend(endpoint: Endpoint, world: World, n: number): Promise<boolean> {
  const { client, conversationId } = world.probe;
  const marker = `probe-${n}`;
  const clientMessageId = `${marker}-${randomBytes(4).toString('hex')}`;
  const answer = await call(endpoint, 'POST', `/conversations/${conversationId}/messages`, {
    client: client.name,
    op: newOp(),
    opKind: 'probe',
    token: client.token,
    body: { clientMessageId, text: `${marker} are you back` },
    timeoutMs: 5_000,
    extra: { conversationId, clientMessageId, marker },
  });
  return success(answer);
}
