import { describe, expect, it } from 'vitest';
import { ByteBudget, FairGate } from './budgets.js';

describe('byte budget', () => {
  it('spends its burst at once, then makes the spender wait until a debt is paid back at its rate', () => {
    const budget = new ByteBudget(1000, 2000, 0);
    expect(budget.waitMs(0)).toBe(0);
    budget.charge(1500, 0);
    expect(budget.waitMs(0)).toBe(0);
    // A page charged after it was sent may overdraw: 1,000 bytes of debt at 1,000/s.
    budget.charge(1500, 0);
    expect(budget.waitMs(0)).toBe(1000);
    expect(budget.waitMs(600)).toBe(400);
    expect(budget.waitMs(1000)).toBe(0);
    // Saving never goes past the burst.
    expect(budget.waitMs(60_000)).toBe(0);
    budget.charge(2001, 60_000);
    expect(budget.waitMs(60_000)).toBe(1);
  });
});

describe('fair gate', () => {
  const settle = () => new Promise((r) => setTimeout(r, 0));

  it('holds at most its slots, and serves waiting users in turn rather than in arrival order', async () => {
    const gate = new FairGate(1);
    const order: string[] = [];
    const first = await gate.acquire('hog');
    // The hog queues three more reads before the victim queues one.
    const waiters = ['hog', 'hog', 'hog', 'victim'].map((user, i) =>
      gate.acquire(user).then((release) => {
        order.push(`${user}${i}`);
        release();
      }),
    );
    await settle();
    expect(order).toEqual([]);
    expect(gate.queued).toBe(4);
    first();
    await Promise.all(waiters);
    // The victim waited for one of the hog's reads, not three.
    expect(order).toEqual(['hog0', 'victim3', 'hog1', 'hog2']);
    expect(gate.queued).toBe(0);
  });

  it('a release called twice frees one slot only', async () => {
    const gate = new FairGate(1);
    const release = await gate.acquire('a');
    release();
    const held = await gate.acquire('b');
    release();
    let got = false;
    void gate.acquire('c').then(() => (got = true));
    await settle();
    expect(got).toBe(false);
    held();
    await settle();
    expect(got).toBe(true);
  });

  it('with a bounded line: past maxWaiting waiters, tryAcquire refuses (nothing held, nothing queued) until the line moves', async () => {
    const gate = new FairGate(2, 3);
    const holders = [gate.tryAcquire('a'), gate.tryAcquire('b')];
    const waiters = ['c', 'd', 'e'].map((key) => gate.tryAcquire(key));
    expect(waiters.every((w) => w !== undefined)).toBe(true);
    expect(gate.tryAcquire('f')).toBeUndefined();
    expect([gate.held, gate.queued]).toEqual([2, 3]);
    (await holders[0]!)();
    await settle();
    // One moved from the line to a slot: there is room for one more.
    expect([gate.held, gate.queued]).toEqual([2, 2]);
    expect(gate.tryAcquire('f')).toBeDefined();
    expect(gate.tryAcquire('g')).toBeUndefined();
  });
});
