/**
 * The WebSocket heartbeat: every interval each socket is pinged, and one that did not answer
 * the last ping (a peer gone without closing) is dropped.
 */
import type { PushClient } from './push-client.js';

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
    client.socket.on('pong', () => (client.alive = true));
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
