/**
 * A worker thread of `herald verify` (verify.ts): checks one segment of the log on
 * connections of its own, and posts its progress and its result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifySegmentAlone, type Segment, type WorkerMessage } from './verify-segment.js';

const port = parentPort;
const task = workerData as { connectionString: string; segment: Segment } | undefined;
if (port && task) {
  const post = (message: WorkerMessage): void => port.postMessage(message);
  verifySegmentAlone(task.connectionString, task.segment, (events) => post({ kind: 'progress', events })).then(
    (result) => post({ kind: 'done', result }),
    (error: unknown) => post({ kind: 'failed', error: error instanceof Error ? error.message : String(error) }),
  );
}
