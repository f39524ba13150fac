import { describe, expect, it } from 'vitest';
import { JsonLogger } from './json-logger.js';
import { correlationOf, currentRequest, requestCorrelation, runInRequest } from './request-context.js';

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

  it('is there for everything the request runs, awaits included, and for every log line it writes', async () => {
    const lines: string[] = [];
    const logger = new JsonLogger('info', (line) => lines.push(line));
    await runInRequest({ correlationId: 'c-1', traceparent: TRACEPARENT }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(requestCorrelation()).toEqual({ correlationId: 'c-1', traceparent: TRACEPARENT });
      logger.log('inside', 'Test');
    });
    logger.log('outside', 'Test');
    expect(lines.map((line) => JSON.parse(line) as { msg: string; correlationId?: string })).toEqual([
      expect.objectContaining({ msg: 'inside', correlationId: 'c-1' }),
      expect.not.objectContaining({ correlationId: expect.anything() as unknown }),
    ]);
    expect(currentRequest()).toBeUndefined();
    // Outside a request, each command is its own correlation.
    expect(requestCorrelation().correlationId).not.toBe(requestCorrelation().correlationId);
  });
});
