/**
 * The push-gateway adapters, run in a thread of their own (`delivery-thread.ts`): building
 * and signing requests, TLS, HTTP/2 and reading answers cost tens of microseconds of CPU
 * per notification, which would otherwise be taken from the thread that serves requests,
 * pushes to sockets and decides notifications. The notifier sees the same port: one
 * `PushAdapter` per enabled kind, each forwarding to the thread. Sends are posted in
 * batches (one message per turn of the event loop), outcomes come back the same way. A
 * thread that dies is replaced; what it had not answered is retried (same ids).
 */
import type { NotificationsConfig } from '@herald/config';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { enabledKinds, type NotifierLog } from '../adapters/index.js';
import type { Notification, Outcome, PushAdapter } from '../gateway.js';
import type { DeviceKind, Target } from '../targets.js';
import type { DeliveryMessage, DeliveryReply } from './protocol.js';

/**
 * The thread's built entry beside this file. Tests run this library from its TypeScript
 * source, which a worker thread cannot load: they use the build (`npm test` builds first).
 */
function entry(): URL {
  const beside = new URL('./delivery-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../../../dist/libs/notifications/src/delivery/delivery-thread.js', import.meta.url);
}

export class DeliveryThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (outcome: Outcome) => void>();
  private nextId = 0;
  private batch: [number, Target, Notification][] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly config: NotificationsConfig,
    private readonly log: NotifierLog,
  ) {
    this.worker = this.start();
  }

  /** One adapter per kind the configuration enables, each sending through the thread. */
  adapters(): Map<DeviceKind, PushAdapter> {
    return new Map(
      enabledKinds(this.config).map((kind) => [
        kind,
        { kind, send: (target, notification) => this.send(target, notification), close: () => this.close() },
      ]),
    );
  }

  send(target: Target, notification: Notification): Promise<Outcome> {
    if (this.closing) return Promise.resolve({ kind: 'retry', reason: 'the notifier is stopping' });
    if (!this.worker) return Promise.resolve({ kind: 'retry', reason: 'the delivery thread is restarting' });
    return new Promise<Outcome>((resolve) => {
      const id = this.nextId++;
      this.waiting.set(id, resolve);
      if (this.batch.length === 0) setImmediate(() => this.post());
      this.batch.push([id, target, notification]);
    });
  }

  close(): Promise<void> {
    const worker = this.worker;
    this.closing ??= new Promise<void>((resolve) => {
      if (!worker) return resolve();
      worker.once('exit', () => resolve());
      worker.postMessage({ close: true } satisfies DeliveryMessage);
    }).then(() => this.settleAll('the notifier stopped'));
    return this.closing;
  }

  private post(): void {
    const send = this.batch;
    this.batch = [];
    if (this.worker) this.worker.postMessage({ send } satisfies DeliveryMessage);
    else for (const [id] of send) this.settle(id, { kind: 'retry', reason: 'the delivery thread is restarting' });
  }

  private start(): Worker {
    const worker = new Worker(entry(), { workerData: { config: this.config } });
    worker.on('message', (reply: DeliveryReply) => {
      if ('outcomes' in reply) {
        for (const [id, outcome] of reply.outcomes) this.settle(id, outcome);
      } else if ('log' in reply) {
        this.log(...reply.log);
      } else {
        void worker.terminate();
      }
    });
    worker.on('error', (error) => this.log('error', `notifier: delivery thread failed: ${error.message}`));
    worker.on('exit', () => {
      if (this.closing) return;
      // Died: what it had not answered is tried again later, and a new thread takes over
      // after a second (not in a loop, if it cannot start at all).
      this.worker = undefined;
      this.settleAll('the delivery thread stopped');
      setTimeout(() => {
        if (!this.closing) this.worker = this.start();
      }, 1_000).unref();
    });
    // Not a reason to keep the process alive on its own.
    worker.unref();
    return worker;
  }

  private settle(id: number, outcome: Outcome): void {
    this.waiting.get(id)?.(outcome);
    this.waiting.delete(id);
  }

  private settleAll(reason: string): void {
    for (const resolve of this.waiting.values()) resolve({ kind: 'retry', reason });
    this.waiting.clear();
  }
}
