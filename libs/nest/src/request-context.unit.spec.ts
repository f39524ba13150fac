import { describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.js';
import { correlationOf, correlationOfRequest, type CorrelatedRequest } from './request-context.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const made = () => 'made-here';

describe('a request correlation', () => {
  it("is the traceparent's trace id, with the traceparent kept for the events", () => {
    expect(correlationOf({ traceparent: TRACEPARENT, 'x-request-id': 'theirs' }, made)).toEqual({
      correlationId: TRACE_ID,
      traceparent: TRACEPARENT,
    });
    // A later version may carry more fields.
    expect(correlationOf({ traceparent: `01-${TRACE_ID}-00f067aa0ba902b7-01-more` }, made).correlationId).toBe(
      TRACE_ID,
    );
  });

  it('is the x-request-id (or x-correlation-id) when no valid traceparent comes with it', () => {
    for (const traceparent of [
      undefined,
      'garbage',
      `ff-${TRACE_ID}-00f067aa0ba902b7-01`,
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID}-00f067aa0ba902b7-01-more`,
    ]) {
      expect(correlationOf({ traceparent, 'x-request-id': 'req-1' }, made), traceparent).toEqual({
        correlationId: 'req-1',
      });
    }
    expect(correlationOf({ 'x-correlation-id': 'corr-1' }, made)).toEqual({ correlationId: 'corr-1' });
  });

  it('is made here when the client sends none, or one that could forge a log line', () => {
    expect(correlationOf({}, made)).toEqual({ correlationId: 'made-here' });
    expect(correlationOf({ 'x-request-id': 'a b\nc' }, made)).toEqual({ correlationId: 'made-here' });
    expect(correlationOf({ 'x-request-id': 'x'.repeat(101) }, made)).toEqual({ correlationId: 'made-here' });
    expect(correlationOf({ 'x-request-id': ['a', 'b'] }, made)).toEqual({ correlationId: 'made-here' });
  });

  it('is made once, on arrival, and travels on the request: what command contexts and log lines read', () => {
    const request: CorrelatedRequest = { headers: {} };
    const first = correlationOfRequest(request);
    expect(correlationOfRequest(request)).toBe(first);
    expect(correlationOfRequest({ headers: {} }).correlationId).not.toBe(first.correlationId);
    expect(correlationOfRequest({ headers: { traceparent: TRACEPARENT } })).toEqual({
      correlationId: TRACE_ID,
      traceparent: TRACEPARENT,
    });
    const lines: string[] = [];
    new JsonLogger('info', (line) => lines.push(line)).emit('warn', 'refused', 'Auth', undefined, {
      correlationId: first.correlationId,
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'refused', correlationId: first.correlationId });
  });
});
