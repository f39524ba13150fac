/**
 * The WebSocket heartbeat: every interval each socket is pinged, and one that did not answer
 * the last ping (a peer gone without closing) is dropped. One timer and one sweep for all
 * sockets; an idle socket costs its ping frame a beat, and nothing of its own between beats:
 * no timer, and the same pong listener as every other socket (ADR 037).
 */
import type { WebSocket } from 'ws';
import { clientOf, type PushClient } from './push-client.js';

/** Every socket's pong listener: the socket's client is found by the socket, no closure per socket. */
function ponged(this: WebSocket): void {
  const client = clientOf(this);
  if (client) client.alive = true;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clients: () => Iterable<PushClient>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.beat(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Called for every socket opened: its pongs keep it alive. */
  watch(client: PushClient): void {
    client.socket.on('pong', ponged);
  }

  private beat(): void {
    for (const client of this.clients()) {
      if (!client.alive) {
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }
}
