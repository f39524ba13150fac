/**
 * How pages of events reach the batch loop: catching up, the next page is read while this
 * one is applied; at the head of the log, events first gather for a while so that they
 * share one transaction, unless someone waits on the projection.
 */

/**
 * Yields what the opened source yields, asking it for the next item while the consumer is
 * still busy with this one. Unless `pause` gives a wait for an item: then the next is
 * asked for once the consumer is done with this one and the wait is over. The source gets
 * a signal of its own, aborted when the consumer stops early, so a read waiting for new
 * events does not keep the consumer from returning.
 */
export async function* readAhead<T>(
  open: (signal: AbortSignal) => AsyncIterable<T>,
  outer: AbortSignal,
  pause: (item: T) => Promise<void> | undefined,
): AsyncGenerator<T> {
  const reading = new AbortController();
  const abort = (): void => reading.abort();
  // Stopped before the first read: an abort event that already fired will not fire again.
  if (outer.aborted) reading.abort();
  outer.addEventListener('abort', abort, { once: true });
  const iterator = open(reading.signal)[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      const wait = pause(result.value);
      if (!wait) {
        next = iterator.next();
        // Awaited on the next turn; until then a failure must not count as unhandled.
        next.catch(() => undefined);
      }
      yield result.value;
      if (wait) {
        await wait;
        next = iterator.next();
        next.catch(() => undefined);
      }
    }
  } finally {
    reading.abort();
    outer.removeEventListener('abort', abort);
    await next.catch(() => undefined);
    await iterator.return?.();
  }
}

/**
 * Whether events gather after this page: a page smaller than the batch size means the
 * head of the log (catching up, pages are full), and gathering is on (`gatherMs` > 0).
 */
export function gathersAfter(
  page: { readonly events: readonly unknown[] },
  batchSize: number,
  gatherMs: number,
): boolean {
  return gatherMs > 0 && page.events.length < batchSize;
}

/** The wait at the head of the log, which someone waiting on the projection ends at once. */
export class Gathering {
  private ending: (() => void) | undefined;

  /** Waits `ms`, or less when ended or stopped. */
  async wait(ms: number, signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.ending = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.ending = done;
    });
  }

  /** Ends the current wait, if any. */
  end(): void {
    this.ending?.();
  }
}
