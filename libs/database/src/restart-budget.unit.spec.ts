import { describe, expect, it } from 'vitest';
import { MAX_RESTARTS, RESTART_WINDOW_MS, RestartBudget } from './restart-budget.js';

describe('RestartBudget', () => {
  it('allows maxRestarts within the window and refuses the next', () => {
    let now = 0;
    const budget = new RestartBudget({ maxRestarts: 3, windowMs: 1_000, now: () => now });
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, true]);
    now = 999;
    expect(budget.take()).toBe(false);
  });

  it('forgets restarts older than the window (sliding, not fixed)', () => {
    let now = 0;
    const budget = new RestartBudget({ maxRestarts: 2, windowMs: 1_000, now: () => now });
    expect(budget.take()).toBe(true);
    now = 600;
    expect(budget.take()).toBe(true);
    now = 999;
    expect(budget.take()).toBe(false);
    // The first has left the window; the second (at 600) has not.
    now = 1_000;
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    now = 1_600;
    expect(budget.take()).toBe(true);
  });

  it('a refusal records nothing, so a quiet window restores the budget', () => {
    let now = 0;
    const budget = new RestartBudget({ maxRestarts: 1, windowMs: 100, now: () => now });
    expect(budget.take()).toBe(true);
    for (now = 10; now < 100; now += 10) expect(budget.take()).toBe(false);
    now = 100;
    expect(budget.take()).toBe(true);
  });

  it('defaults to 5 restarts in 10 minutes', () => {
    expect([MAX_RESTARTS, RESTART_WINDOW_MS]).toEqual([5, 600_000]);
    let now = 0;
    const budget = new RestartBudget({ now: () => now });
    for (let i = 0; i < 5; i++, now += 60_000) expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
    expect(budget.describe()).toBe('5 times within 600 s');
  });
});
