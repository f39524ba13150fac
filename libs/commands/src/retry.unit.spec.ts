import { WrongExpectedRevision } from '@herald/event-store';
import { streamIdOf } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPTS, retryOnConflict } from './index.js';

describe('retryOnConflict', () => {
  const lost = () => new WrongExpectedRevision(streamIdOf('user', '1'), 3, 4);

  it('runs a command again after each race it lost, until it wins', async () => {
    let runs = 0;
    const answer = await retryOnConflict(async (attempt) => {
      runs++;
      if (attempt < 3) throw lost();
      return Promise.resolve('written');
    });
    expect([answer, runs]).toEqual(['written', 3]);
  });

  it('gives up after a bounded number of attempts, with the last conflict', async () => {
    let runs = 0;
    const outcome = retryOnConflict(() => {
      runs++;
      return Promise.reject(lost());
    }, 4);
    await expect(outcome).rejects.toBeInstanceOf(WrongExpectedRevision);
    expect(runs).toBe(4);
    expect(MAX_ATTEMPTS).toBeGreaterThan(1);
  });

  it('lets any other error through at once', async () => {
    let runs = 0;
    const outcome = retryOnConflict(() => {
      runs++;
      return Promise.reject(new Error('no'));
    });
    await expect(outcome).rejects.toThrow('no');
    expect(runs).toBe(1);
  });
});
