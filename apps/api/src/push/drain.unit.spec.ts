import { describe, expect, it } from 'vitest';
import { Drain } from './drain.js';

/** A queue drained by a loop that awaits each item, as the push loops await a statement. */
function queue() {
  const items: string[] = [];
  const done: string[] = [];
  let runs = 0;
  const drain = new Drain(
    async () => {
      runs++;
      while (items.length > 0) {
        const item = items.shift()!;
        await Promise.resolve();
        done.push(item);
      }
    },
    () => items.length > 0,
  );
  return { items, done, drain, runs: () => runs };
}

describe('Drain', () => {
  it('runs one loop at a time however often it is kicked', async () => {
    const q = queue();
    q.items.push('a', 'b');
    q.drain.kick();
    q.drain.kick();
    await q.drain.idle();
    expect(q.done).toEqual(['a', 'b']);
    expect(q.runs()).toBe(1);
  });

  it('does not start a loop when there is nothing to do', async () => {
    const q = queue();
    q.drain.kick();
    await q.drain.idle();
    expect(q.runs()).toBe(0);
  });

  it('drains work queued after the loop found the queue empty but before it ended', async () => {
    const q = queue();
    q.items.push('a');
    q.drain.kick();
    // The loop ends a few turns after its last look at the queue: queue then, and kick
    // while it still counts as running (the kick is a no-op), as a publisher would.
    for (let turn = 0; turn < 6; turn++) {
      await Promise.resolve();
      if (q.done.length === 1 && q.items.length === 0) {
        q.items.push('late');
        q.drain.kick();
        break;
      }
    }
    await q.drain.idle();
    expect(q.done).toEqual(['a', 'late']);
  });

  it('idle() waits for every run, those started by a run that ended with work left too', async () => {
    const q = queue();
    q.items.push('a');
    q.drain.kick();
    q.items.push('b');
    await q.drain.idle();
    expect(q.done).toEqual(['a', 'b']);
    expect(q.items).toEqual([]);
  });
});
