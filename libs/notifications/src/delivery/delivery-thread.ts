/**
 * The delivery thread's entry: the push-gateway adapters the configuration enables, run off
 * the thread that serves requests and decides notifications. It is given batches of
 * `[id, target, notification]` and answers `[id, outcome]` for each, as they come.
 * (Started by `DeliveryThread`; not imported by anything else.)
 */
import type { NotificationsConfig } from '@herald/config';
import { parentPort, workerData } from 'node:worker_threads';
import { pushAdapters } from '../adapters/index.js';
import type { Outcome } from '../gateway.js';
import type { DeliveryMessage, DeliveryReply } from './protocol.js';

const port = parentPort!;
const reply = (message: DeliveryReply): void => port.postMessage(message);
const adapters = pushAdapters((workerData as { config: NotificationsConfig }).config, (level, message) =>
  reply({ log: [level, message] }),
);

port.on('message', (message: DeliveryMessage) => {
  if ('close' in message) {
    void Promise.all([...adapters.values()].map((adapter) => adapter.close?.() ?? Promise.resolve())).then(() =>
      reply({ closed: true }),
    );
    return;
  }
  for (const [id, target, notification] of message.send) {
    const adapter = adapters.get(target.kind);
    const sent: Promise<Outcome> = adapter
      ? adapter.send(target, notification)
      : Promise.resolve({ kind: 'drop', reason: `no ${target.kind} adapter configured` });
    void sent
      .catch((error: unknown): Outcome => ({
        kind: 'retry',
        reason: error instanceof Error ? error.message : String(error),
      }))
      .then((outcome) => answer(id, outcome));
  }
});

/** Outcomes are posted together once the current turn ends: one message for many answers. */
let answers: [number, Outcome][] = [];
function answer(id: number, outcome: Outcome): void {
  if (answers.length === 0) setImmediate(flush);
  answers.push([id, outcome]);
}
function flush(): void {
  reply({ outcomes: answers });
  answers = [];
}
