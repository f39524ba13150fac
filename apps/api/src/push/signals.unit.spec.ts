import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SIGNALS_CHANNEL, SignalBus, type Signal } from './signals.js';

/**
 * The listening connection, faked: pg's Client as far as the bus uses it. Each one made is
 * kept in `connections`; `refuse` makes the next connects fail.
 */
const pgFake = await vi.hoisted(async () => {
  const { EventEmitter } = await import('node:events');
  const connections: FakeClient[] = [];
  class FakeClient extends EventEmitter {
    static refuse = false;
    readonly statements: string[] = [];
    ended = false;
    constructor() {
      super();
      connections.push(this);
    }
    connect(): Promise<void> {
      return FakeClient.refuse ? Promise.reject(new Error('connection refused')) : Promise.resolve();
    }
    query(sql: string): Promise<void> {
      this.statements.push(sql);
      return Promise.resolve();
    }
    end(): Promise<void> {
      if (!this.ended) {
        this.ended = true;
        this.emit('end');
      }
      return Promise.resolve();
    }
    /** PostgreSQL delivers a NOTIFY on `channel`. */
    notify(payload: string | undefined, channel = 'herald_signals'): void {
      this.emit('notification', { channel, payload });
    }
  }
  return { FakeClient, connections };
});

vi.mock('pg', () => ({ default: { Client: pgFake.FakeClient } }));

/** PostgreSQL refuses NOTIFY payloads of this many bytes or more. */
const POSTGRES_NOTIFY_LIMIT = 8_000;
/** Typing signals waiting past this are dropped. */
const MAX_QUEUED_TYPING = 10_000;
const RETRY_MS = 1_000;

const NODE = randomUUID();
const OTHER_NODE = randomUUID();
const conversationId = randomUUID();
const typing = (): Signal => ({ kind: 'typing', conversationId, userId: randomUUID() });
const presence = (count: number): Signal => ({
  kind: 'presence',
  userIds: Array.from({ length: count }, () => randomUUID()),
});
const nodeGone: Signal = { kind: 'node-gone', nodeId: OTHER_NODE };

interface Notify {
  readonly sql: string;
  readonly channel: unknown;
  readonly bytes: number;
  readonly signals: Signal[];
  readonly answer: () => void;
  readonly fail: () => void;
}

/** A bus whose NOTIFYs wait until answered (`notifies`), and what it handed on, resumed and logged. */
function busOf() {
  const notifies: Notify[] = [];
  const handed: Signal[][] = [];
  const logged: string[] = [];
  let resumes = 0;
  const bus = new SignalBus({
    connectionString: 'postgres://signals.invalid/herald',
    nodeId: NODE,
    query: (sql, [channel, payload]) =>
      new Promise((resolve, reject) => {
        const parsed = JSON.parse(payload as string) as { node: string; signals: Signal[] };
        expect(parsed.node).toBe(NODE);
        notifies.push({
          sql,
          channel,
          bytes: Buffer.byteLength(payload as string),
          signals: parsed.signals,
          answer: () => resolve(undefined),
          fail: () => reject(new Error('database unreachable')),
        });
      }),
    onSignals: (signals) => handed.push([...signals]),
    onResume: () => resumes++,
    log: (level, message) => logged.push(`${level}: ${message}`),
  });
  /** Answers every NOTIFY, those it leads to included, until none waits. */
  const answerAll = async () => {
    let answered = 0;
    while (answered < notifies.length) {
      notifies[answered++]!.answer();
      await settled();
    }
  };
  return { bus, notifies, handed, logged, resumes: () => resumes, answerAll };
}

/** Lets every promise started so far settle. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));
/** A payload as another node sends it. */
const from = (node: string, signals: Signal[]) => JSON.stringify({ node, signals });

beforeEach(() => {
  pgFake.connections.length = 0;
  pgFake.FakeClient.refuse = false;
});
afterEach(() => vi.useRealTimers());

describe('sending signals', () => {
  it('a signal goes out at once, as a NOTIFY on the signals channel tagged with the node', () => {
    const { bus, notifies } = busOf();
    bus.publish(nodeGone);
    expect(notifies).toHaveLength(1);
    expect(notifies[0]).toMatchObject({ sql: 'SELECT pg_notify($1, $2)', channel: SIGNALS_CHANNEL });
    expect(notifies[0]!.signals).toEqual([nodeGone]);
  });

  it('one NOTIFY at a time: what is published meanwhile goes out together in the next, in order', async () => {
    const { bus, notifies, answerAll } = busOf();
    const [a, b, c] = [typing(), presence(2), typing()];
    bus.publish(a);
    bus.publish(b);
    bus.publish(c);
    expect(notifies).toHaveLength(1);
    await answerAll();
    expect(notifies.map((n) => n.signals)).toEqual([[a], [b, c]]);
  });

  it(`a presence hint of more than 100 users goes out as hints of 100 at most, each NOTIFY under ${POSTGRES_NOTIFY_LIMIT} bytes`, async () => {
    const { bus, notifies, answerAll } = busOf();
    const hint = presence(250);
    bus.publish(hint);
    await answerAll();
    const sent = notifies.flatMap((n) => n.signals);
    expect(sent.map((s) => (s.kind === 'presence' ? s.userIds.length : 0))).toEqual([100, 100, 50]);
    expect(sent.flatMap((s) => (s.kind === 'presence' ? s.userIds : []))).toEqual(
      hint.kind === 'presence' ? hint.userIds : [],
    );
    for (const notify of notifies) expect(notify.bytes).toBeLessThan(POSTGRES_NOTIFY_LIMIT);
  });

  it('many signals queued are sent in as few NOTIFYs as fit the payload limit', async () => {
    const { bus, notifies, answerAll } = busOf();
    bus.publish(typing());
    const queued = Array.from({ length: 200 }, typing);
    for (const signal of queued) bus.publish(signal);
    await answerAll();
    expect(notifies.slice(1).flatMap((n) => n.signals)).toEqual(queued);
    expect(notifies.length).toBeLessThan(10);
    for (const notify of notifies) expect(notify.bytes).toBeLessThan(POSTGRES_NOTIFY_LIMIT);
  });

  it(`while the database is slow, typing signals past ${MAX_QUEUED_TYPING} waiting are dropped; presence hints and node-gone are kept`, async () => {
    const { bus, notifies, answerAll } = busOf();
    bus.publish(typing());
    for (let i = 0; i < MAX_QUEUED_TYPING; i++) bus.publish(typing());
    const dropped = typing();
    const hint = presence(1);
    bus.publish(dropped);
    bus.publish(hint);
    bus.publish(nodeGone);
    await answerAll();
    const sent = notifies.flatMap((n) => n.signals);
    expect(sent.filter((s) => s.kind === 'typing')).toHaveLength(1 + MAX_QUEUED_TYPING);
    expect(sent).not.toContainEqual(dropped);
    expect(sent.slice(-2)).toEqual([hint, nodeGone]);
  });

  it('a NOTIFY that fails is logged and sent again a second later with its presence hints and node-gone, not its typing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, notifies, logged } = busOf();
    bus.publish(typing());
    const [late, hint] = [typing(), presence(3)];
    bus.publish(late);
    bus.publish(hint);
    bus.publish(nodeGone);
    notifies[0]!.answer();
    await settled();
    expect(notifies[1]!.signals).toEqual([late, hint, nodeGone]);
    notifies[1]!.fail();
    await vi.advanceTimersByTimeAsync(RETRY_MS - 1);
    expect(notifies).toHaveLength(2);
    expect(logged).toEqual(['warn: signals not sent: database unreachable; retrying']);
    await vi.advanceTimersByTimeAsync(1);
    expect(notifies[2]!.signals).toEqual([hint, nodeGone]);
  });

  it("closing sends what is queued first (a node's last words), and nothing published after", async () => {
    const { bus, notifies } = busOf();
    bus.publish(nodeGone);
    let closed = false;
    const closing = bus.close().then(() => (closed = true));
    await settled();
    expect(closed).toBe(false);
    notifies[0]!.answer();
    await closing;
    bus.publish(typing());
    bus.publish(presence(1));
    expect(notifies).toHaveLength(1);
  });

  it('a NOTIFY that fails while closing is not tried again: closing does not wait for the database', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, notifies } = busOf();
    bus.publish(nodeGone);
    const closing = bus.close();
    notifies[0]!.fail();
    await closing;
    await vi.advanceTimersByTimeAsync(10 * RETRY_MS);
    expect(notifies).toHaveLength(1);
  });
});

describe('receiving signals', () => {
  it("signals of the other nodes are handed on in the order sent; the node's own are ignored", async () => {
    const { bus, handed } = busOf();
    await bus.start();
    const [listener] = pgFake.connections;
    const [a, b] = [typing(), presence(2)];
    listener!.notify(from(OTHER_NODE, [a, b]));
    listener!.notify(from(NODE, [typing()]));
    listener!.notify(from(OTHER_NODE, [nodeGone]));
    expect(handed).toEqual([[a, b], [nodeGone]]);
    expect(listener!.statements).toEqual([`LISTEN ${SIGNALS_CHANNEL}`]);
  });

  it('a payload that is not a signal payload is ignored with a warning', async () => {
    const { bus, handed, logged } = busOf();
    await bus.start();
    const [listener] = pgFake.connections;
    listener!.notify('not json');
    listener!.notify(undefined);
    listener!.notify(from('not-a-node-id', [nodeGone]));
    listener!.notify(from(OTHER_NODE, [{ kind: 'typing', conversationId, userId: 'not-a-user-id' }]));
    listener!.notify(JSON.stringify({ node: OTHER_NODE, signals: [{ kind: 'message', text: 'hello' }] }));
    expect(handed).toEqual([]);
    expect(logged).toEqual(Array(5).fill('warn: signal ignored: not a signal payload'));
  });

  it('a notification on another channel is not read', async () => {
    const { bus, handed, logged } = busOf();
    await bus.start();
    pgFake.connections[0]!.notify(from(OTHER_NODE, [nodeGone]), 'other_channel');
    expect(handed).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('once listening, the node is told to refresh; a lost connection is listened on again a second later, and the node told again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, resumes, logged, handed } = busOf();
    await bus.start();
    expect(resumes()).toBe(1);
    const [lost] = pgFake.connections;
    lost!.emit('error', new Error('terminating connection'));
    expect(lost!.ended).toBe(true);
    expect(logged).toEqual(['warn: signal listener lost: terminating connection; reconnecting']);
    await vi.advanceTimersByTimeAsync(RETRY_MS - 1);
    expect(pgFake.connections).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pgFake.connections).toHaveLength(2);
    expect(resumes()).toBe(2);
    // What the lost connection still delivers is not read; the new one's is.
    lost!.notify(from(OTHER_NODE, [typing()]));
    pgFake.connections[1]!.notify(from(OTHER_NODE, [nodeGone]));
    expect(handed).toEqual([[nodeGone]]);
  });

  it('a listening connection that cannot be made does not stop start-up, and is tried again each second', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, resumes, logged } = busOf();
    pgFake.FakeClient.refuse = true;
    await bus.start();
    expect(resumes()).toBe(0);
    expect(logged).toEqual(['warn: signal listener lost: connection refused; reconnecting']);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(pgFake.connections).toHaveLength(2);
    pgFake.FakeClient.refuse = false;
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(pgFake.connections).toHaveLength(3);
    expect(resumes()).toBe(1);
  });

  it('closing ends the listening connection, and a connection lost after is not made again', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus, logged } = busOf();
    await bus.start();
    await bus.close();
    const [listener] = pgFake.connections;
    expect(listener!.ended).toBe(true);
    listener!.emit('error', new Error('late error'));
    await vi.advanceTimersByTimeAsync(10 * RETRY_MS);
    expect(pgFake.connections).toHaveLength(1);
    expect(logged).toEqual([]);
  });

  it('a reconnect waiting when the bus closes is not made', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { bus } = busOf();
    await bus.start();
    pgFake.connections[0]!.emit('error', new Error('terminating connection'));
    await bus.close();
    await vi.advanceTimersByTimeAsync(10 * RETRY_MS);
    expect(pgFake.connections).toHaveLength(1);
  });
});
