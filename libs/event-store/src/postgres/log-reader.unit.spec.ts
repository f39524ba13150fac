import { describe, expect, it } from 'vitest';
import { encodeCheckpoint, START } from '../checkpoint.js';
import { pageOfScan, type PageRow } from './log-reader.js';

/** Just below transaction `tx`: after every position of older transactions. */
const belowHorizon = (tx: bigint): string => encodeCheckpoint(tx - 1n, (1n << 63n) - 1n);

/** A scanned entry of transaction `tx` at position `pos`, returned when `keep`. */
function scanned(tx: number, pos: number, keep = true, horizon = 100, held = false): PageRow {
  return {
    horizon: String(horizon),
    held,
    keep,
    tx: String(tx),
    pos: String(pos),
    stream_id: 's-1',
    stream_revision: String(pos),
    event_id: `e${pos}`,
    type: 'A',
    schema_version: 1,
    data: keep ? {} : null,
    metadata: keep ? {} : (null as unknown as Record<string, unknown>),
    recorded_ms: 0,
  };
}

/** The one row that comes back when the scan found nothing. */
const nothing = (horizon: number, held = false): PageRow =>
  ({ horizon: String(horizon), held, keep: null, tx: null, pos: null }) as unknown as PageRow;

describe('pageOfScan', () => {
  it('continues after the last event when the page is full', () => {
    const { page, caughtUp } = pageOfScan([scanned(5, 1), scanned(5, 2)], START, 2, 2);
    expect(page.events.map((e) => e.eventId)).toEqual(['e1', 'e2']);
    expect(page.checkpoint).toBe(encodeCheckpoint(5n, 2n));
    expect(caughtUp).toBe(false);
  });

  it('continues where a filtered scan stopped when it was cut short before the horizon', () => {
    const rows = [scanned(5, 1, false), scanned(5, 2, true), scanned(6, 3, false), scanned(6, 4, false)];
    const { page, caughtUp } = pageOfScan(rows, START, 2, 4);
    expect(page.events.map((e) => e.eventId)).toEqual(['e2']);
    expect(page.checkpoint).toBe(encodeCheckpoint(6n, 4n));
    expect(caughtUp).toBe(false);
  });

  // After a crash PostgreSQL can hand out again the transaction ids below the horizon that
  // it had not written to its WAL (asynchronous commits, rollbacks): an event appended then
  // would sort below a checkpoint taken up at the horizon, and its reader would skip it.
  it('continues after the last entry it scanned when the scan reached the horizon, not further', () => {
    const { page, caughtUp } = pageOfScan([scanned(5, 1, false)], START, 2, 8);
    expect(page.events).toEqual([]);
    expect(page.checkpoint).toBe(encodeCheckpoint(5n, 1n));
    expect(page.checkpoint < belowHorizon(100n)).toBe(true);
    expect(caughtUp).toBe(true);
  });

  it('leaves a reader with nothing to read where it stands, below the horizon', () => {
    const from = encodeCheckpoint(7n, 3n);
    const { page, caughtUp } = pageOfScan([nothing(100)], from, 10, 10);
    expect(page).toEqual({ events: [], checkpoint: from });
    expect(caughtUp).toBe(true);
  });

  it('leaves a reader already past the horizon where it stands', () => {
    const from = encodeCheckpoint(200n, 3n);
    expect(pageOfScan([nothing(100)], from, 10, 10).page.checkpoint).toBe(from);
  });

  it('leaves a reader where it stands on an empty log whose horizon is zero', () => {
    expect(pageOfScan([nothing(0)], START, 10, 10).page.checkpoint).toBe(START);
  });

  it('says when committed events wait behind a running transaction', () => {
    expect(pageOfScan([nothing(100, true)], START, 10, 10).held).toBe(true);
    expect(pageOfScan([scanned(5, 1, true, 100, false)], START, 10, 10).held).toBe(false);
  });

  it('is not caught up when the page filled its limit exactly at the horizon', () => {
    const { page, caughtUp } = pageOfScan([scanned(5, 1), scanned(5, 2)], START, 2, 8);
    expect(page.checkpoint).toBe(encodeCheckpoint(5n, 2n));
    expect(caughtUp).toBe(false);
  });
});
