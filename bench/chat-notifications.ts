/**
 * `bench:chat`'s offline-notification run: half the members of every small group connect a
 * WebSocket (online), the other half are offline with a webhook device pointing at an
 * endpoint in this load generator, and members send to their groups. Each message is a
 * notification for each offline member but its sender, sent by Herald's notifier (in the
 * server process, as `npm start` runs it) through the webhook adapter: signed, keep-alive
 * HTTP/1.1 to loopback. NOTIFY_COLLAPSE_SECONDS is 0 for this run (set by chat.ts), so
 * every message is a notification and the figure is the pipeline's throughput, not the
 * collapse rule's.
 *
 * notificationsPerSec: webhook requests received per second while sends are paced (the
 * window); notificationsDrainSeconds: how long after the window the last expected one
 * came; missingNotifications: expected ones never received (after BENCH_NOTIFY_DRAIN_MS).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { Agent, createServer, request, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import { round } from './report.js';

export interface NotifyMember {
  readonly userId: string;
  readonly token: string;
}
export interface NotifyGroup {
  readonly id: string;
  readonly members: readonly NotifyMember[];
  readonly seq: number;
}

export interface NotificationFigures {
  notificationsPerSec: number;
  notificationsDrainSeconds: number;
  missingNotifications: number;
  notifySendsPerSec: number;
  notifyServerCpuPct: number;
  /** Server CPU per notification once sends stopped (the drain: the notifier's work alone, with the projections' tail). */
  drainCpuMsPerNotification: number;
  /** Notifications received per second once sends stopped: the notifier's pace with nothing else to do. */
  drainNotificationsPerSec: number;
}

export interface WebhookEndpoint {
  readonly host: string;
  readonly secret: string;
  /** Requests received (every 64th signature is checked). */
  readonly count: number;
  readonly badSignatures: number;
  close(): Promise<void>;
}

/**
 * The bots' endpoint, in a thread of its own: a bot's server is not the load generator, so
 * its answers must not wait behind the sends and sockets this process drives. Answers 204 at
 * once, counts in shared memory, checks every 64th signature.
 */
export async function webhookEndpoint(secret: string): Promise<WebhookEndpoint> {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL(import.meta.url), { workerData: { webhookEndpoint: { secret, counters } } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    host: `127.0.0.1:${port}`,
    secret,
    get count() {
      return Atomics.load(counters, 0);
    },
    get badSignatures() {
      return Atomics.load(counters, 1);
    },
    close: () => worker.terminate().then(() => undefined),
  };
}

function serveEndpoint({ secret, counters }: { secret: string; counters: Int32Array }): void {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const count = Atomics.add(counters, 0, 1) + 1;
      if (count % 64 === 0) {
        const body = Buffer.concat(chunks).toString('utf8');
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(String(req.headers['herald-signature'])) ?? [];
        if (createHmac('sha256', secret).update(`${t}.${body}`).digest('hex') !== v1) Atomics.add(counters, 1, 1);
      }
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as { port: number }).port));
}

const endpointData = (workerData as { webhookEndpoint?: { secret: string; counters: Int32Array } } | null)
  ?.webhookEndpoint;
if (!isMainThread && endpointData) serveEndpoint(endpointData);

/** POSTs JSON with a bearer token; resolves with the status. */
function post(agent: Agent, port: number, path: string, token: string, body: object): Promise<number> {
  const text = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(text);
  });
}

export async function measureNotifications(options: {
  readonly port: number;
  readonly groups: readonly NotifyGroup[];
  readonly endpoint: WebhookEndpoint;
  readonly rate: number;
  readonly seconds: number;
  readonly drainMs: number;
  readonly cpuTicks: () => number;
}): Promise<NotificationFigures> {
  const { port, groups, endpoint, rate, seconds } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  // Offline: every other member of each group, with a webhook device; online: the rest, connected.
  const offline = groups.flatMap((group) => group.members.filter((_, i) => i % 2 === 1));
  const offlineIds = new Set(offline.map((m) => m.userId));
  // Registered 32 at a time: setup, not what is measured.
  for (let i = 0; i < offline.length; i += 32) {
    const statuses = await Promise.all(
      offline.slice(i, i + 32).map((member) =>
        post(agent, port, '/me/devices', member.token, {
          kind: 'webhook',
          url: `http://${endpoint.host}/bot/${member.userId}`,
        }),
      ),
    );
    const refused = statuses.find((status) => status !== 201);
    if (refused !== undefined) throw new Error(`device registration answered ${refused}`);
  }
  const sockets: WebSocket[] = [];
  const connect = (member: NotifyMember): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
        headers: { authorization: `Bearer ${member.token}` },
        perMessageDeflate: false,
      });
      socket.once('error', reject);
      socket.once('open', () => {
        sockets.push(socket);
        resolve();
      });
      socket.on('message', () => undefined);
    });
  // 50 at a time, each tried again a few times: a loaded machine answers some handshakes 503.
  const online = groups.flatMap((group) => group.members.filter((m) => !offlineIds.has(m.userId)));
  for (let i = 0; i < online.length; i += 50) {
    await Promise.all(
      online.slice(i, i + 50).map(async (member) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await connect(member);
          } catch (error) {
            if (attempt >= 5) throw error;
            await sleep(500);
          }
        }
      }),
    );
  }
  // The presence rows of the online members are written in batches: let them land.
  await sleep(1_000);

  let expected = 0;
  let answered = 0;
  let sent = 0;
  let inFlight = 0;
  const before = endpoint.count;
  const cpuBefore = options.cpuTicks();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - start) / 1000;
      if (elapsed >= seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(elapsed * rate);
      while (sent < due) {
        sent++;
        if (inFlight >= 1_000) continue;
        const group = groups[Math.floor(Math.random() * groups.length)]!;
        const sender = group.members[Math.floor(Math.random() * group.members.length)]!;
        const recipients = group.members.filter((m) => m.userId !== sender.userId && offlineIds.has(m.userId)).length;
        inFlight++;
        void post(agent, port, `/conversations/${group.id}/messages`, sender.token, {
          clientMessageId: randomUUID(),
          text: `notify ${sent} the quick brown fox`,
        }).then((status) => {
          inFlight--;
          if (status === 201) {
            expected += recipients;
            answered++;
          }
        });
      }
    }, 2);
  });
  const windowSeconds = (performance.now() - start) / 1000;
  const inWindow = endpoint.count - before;
  const cpu = options.cpuTicks() - cpuBefore;
  while (inFlight > 0) await sleep(20);
  const drainFrom = { cpu: options.cpuTicks(), count: endpoint.count, at: performance.now() };
  const deadline = Date.now() + options.drainMs;
  while (endpoint.count - before < expected && Date.now() < deadline) await sleep(50);
  const drained = (performance.now() - start) / 1000 - windowSeconds;
  const drainedCount = endpoint.count - drainFrom.count;
  const drainCpuMs = (options.cpuTicks() - drainFrom.cpu) * 10;
  const drainSeconds = (performance.now() - drainFrom.at) / 1000;
  for (const socket of sockets) socket.close();
  agent.destroy();
  return {
    notificationsPerSec: round(inWindow / windowSeconds),
    notificationsDrainSeconds: round(drained, 1),
    missingNotifications: Math.max(0, expected - (endpoint.count - before)),
    notifySendsPerSec: round(answered / windowSeconds),
    notifyServerCpuPct: round((cpu / 100 / windowSeconds) * 100),
    drainCpuMsPerNotification: drainedCount > 0 ? round(drainCpuMs / drainedCount, 3) : 0,
    drainNotificationsPerSec: drainSeconds > 0 ? round(drainedCount / drainSeconds) : 0,
  };
}
