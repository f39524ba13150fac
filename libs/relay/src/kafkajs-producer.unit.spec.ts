import { streamIdOf, type WireRecord } from '@herald/events';
import { describe, expect, it } from 'vitest';
import { chunks, MAX_REQUEST_BYTES } from './kafkajs-producer.js';

const record = (i: number, bytes: number): WireRecord =>
  ({
    topic: 't',
    key: streamIdOf('conversation', '1'),
    value: `${i}:`.padEnd(bytes, 'x'),
    headers: { ce_id: String(i) },
  }) as WireRecord;

describe('produce requests', () => {
  it('split a page by size, in order, so no partition batch passes the broker limit', () => {
    const page = Array.from({ length: 1000 }, (_, i) => record(i, 1_300));
    const requests = [...chunks(page)];
    expect(requests.length).toBe(2);
    expect(requests.flat()).toEqual(page);
    for (const request of requests) {
      const bytes = request.reduce((n, r) => n + r.value.length, 0);
      expect(bytes).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    }
  });

  it('send a record bigger than the budget on its own, and small pages in one request', () => {
    const page = [record(0, 10), record(1, MAX_REQUEST_BYTES + 1), record(2, 10)];
    expect([...chunks(page)].map((r) => r.map((x) => x.headers.ce_id))).toEqual([['0'], ['1'], ['2']]);
    expect([...chunks(page.slice(0, 1))]).toHaveLength(1);
    expect([...chunks([])]).toHaveLength(0);
  });
});
