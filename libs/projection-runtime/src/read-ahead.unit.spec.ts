import { describe, expect, it } from 'vitest';
import { Gathering, gathersAfter, readAhead } from './read-ahead.js';

/** A source of numbered pages that records when each is asked for and sees its signal. */
function source(pages: number) {
  const log: string[] = [];
  let signal: AbortSignal | undefined;
  return {
    log,
    signal: () => signal,
    open: (reading: AbortSignal): AsyncIterable<number> => {
      signal = reading;
      return {
        [Symbol.asyncIterator]: () => {
          let next = 0;
          return {
            next: () => {
              if (next >= pages) return Promise.resolve({ done: true as const, value: undefined });
              log.push(`read ${next}`);
              return Promise.resolve({ done: false as const, value: next++ });
            },
          };
        },
      };
    },
  };
}

const noPause = (): undefined => undefined;

describe('reading ahead', () => {
  it('asks the source for the next page while the consumer is busy with this one', async () => {
    const pages = source(3);
    for await (const page of readAhead(pages.open, new AbortController().signal, noPause)) {
      pages.log.push(`apply ${page}`);
    }
    expect(pages.log).toEqual(['read 0', 'read 1', 'apply 0', 'read 2', 'apply 1', 'apply 2']);
  });

  it('with a pause, asks for the next page only once the consumer is done and the wait is over', async () => {
    const pages = source(2);
    const pause = (page: number): Promise<void> => {
      pages.log.push(`gather after ${page}`);
      return Promise.resolve();
    };
    for await (const page of readAhead(pages.open, new AbortController().signal, pause)) {
      pages.log.push(`apply ${page}`);
    }
    expect(pages.log).toEqual(['read 0', 'gather after 0', 'apply 0', 'read 1', 'gather after 1', 'apply 1']);
  });

  it("aborts the source's signal when the consumer stops early", async () => {
    const pages = source(5);
    for await (const page of readAhead(pages.open, new AbortController().signal, noPause)) {
      if (page === 1) break;
    }
    expect(pages.signal()?.aborted).toBe(true);
  });

  it("aborts the source's signal when the runner stops", async () => {
    const pages = source(5);
    const stop = new AbortController();
    for await (const page of readAhead(pages.open, stop.signal, noPause)) {
      if (page === 0) {
        stop.abort();
        expect(pages.signal()?.aborted).toBe(true);
      }
    }
  });

  it('opens the source with an aborted signal when the runner stopped before the first read', async () => {
    const pages = source(1);
    const stop = new AbortController();
    stop.abort();
    for await (const _ of readAhead(pages.open, stop.signal, noPause)) {
      expect(pages.signal()?.aborted).toBe(true);
    }
  });

  it('lets a failing read reach the consumer', async () => {
    const failing = (): AsyncIterable<number> => ({
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('log unreachable')) }),
    });
    const consume = async (): Promise<void> => {
      for await (const _ of readAhead(failing, new AbortController().signal, noPause)) {
        // nothing comes
      }
    };
    await expect(consume()).rejects.toThrow('log unreachable');
  });
});

describe('gathering at the head of the log', () => {
  const page = (events: number): { events: number[] } => ({ events: Array.from({ length: events }, (_, i) => i) });

  it('a full page means catching up: the next page is read at once', () => {
    expect(gathersAfter(page(500), 500, 1_000)).toBe(false);
  });

  it('a page smaller than the batch size means the head: events gather', () => {
    expect(gathersAfter(page(499), 500, 1_000)).toBe(true);
    expect(gathersAfter(page(0), 500, 1_000)).toBe(true);
  });

  it('nothing gathers when gathering is off', () => {
    expect(gathersAfter(page(1), 500, 0)).toBe(false);
  });

  it('waits its time when nobody ends it', async () => {
    const since = Date.now();
    await new Gathering().wait(30, new AbortController().signal);
    expect(Date.now() - since).toBeGreaterThanOrEqual(25);
  });

  it('ends at once when someone waits on the projection', async () => {
    const gathering = new Gathering();
    const since = Date.now();
    const waiting = gathering.wait(60_000, new AbortController().signal);
    gathering.end();
    await waiting;
    expect(Date.now() - since).toBeLessThan(10_000);
  });

  it('ends at once when the runner stops', async () => {
    const stop = new AbortController();
    const waiting = new Gathering().wait(60_000, stop.signal);
    stop.abort();
    await expect(waiting).resolves.toBeUndefined();
  });

  it('ending it while nobody gathers changes nothing for the next wait', async () => {
    const gathering = new Gathering();
    gathering.end();
    const since = Date.now();
    await gathering.wait(30, new AbortController().signal);
    expect(Date.now() - since).toBeGreaterThanOrEqual(25);
  });
});
