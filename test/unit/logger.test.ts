import { PassThrough } from 'node:stream';
import { createLogger, TemporalLoggerAdapter, toPlatformMeta } from '../../observability/logger';

describe('toPlatformMeta', () => {
  test('renames workflowId to run_id and the Temporal run ids to temporal_run_id, and drops taskToken', () => {
    expect(toPlatformMeta({ workflowId: 'run-1', runId: 'abc', taskToken: 'secret', activityType: 'plan' })).toEqual({
      run_id: 'run-1',
      temporal_run_id: 'abc',
      activityType: 'plan',
    });
    expect(toPlatformMeta({ workflowRunId: 'def' })).toEqual({ temporal_run_id: 'def' });
  });

  test('an explicit run_id is kept, whichever key comes first', () => {
    expect(toPlatformMeta({ run_id: 'explicit', workflowId: 'wf' }).run_id).toBe('explicit');
    expect(toPlatformMeta({ workflowId: 'wf', run_id: 'explicit' }).run_id).toBe('explicit');
  });

  test('no metadata gives an empty object', () => {
    expect(toPlatformMeta()).toEqual({});
  });
});

/** A JSON logger on a stream, and a way to wait for n parsed lines. */
function capture(level: 'debug' | 'info') {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logger = createLogger({ level, format: 'json', defaults: { service: 'worker' }, stream });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { logger, lines, settle };
}

describe('TemporalLoggerAdapter', () => {
  test('writes one JSON line per SDK log call, with mapped levels and run_id', async () => {
    const { logger, lines, settle } = capture('debug');
    const adapter = new TemporalLoggerAdapter(logger);
    adapter.trace('polling', { workflowId: 'run-7' });
    adapter.warn('slow activity', { workflowId: 'run-7', runId: 'r1', taskToken: 't' });
    adapter.error('failed');
    await settle();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ level: 'debug', message: 'polling', run_id: 'run-7', source: 'temporal', service: 'worker' });
    expect(lines[1]).toMatchObject({ level: 'warn', message: 'slow activity', run_id: 'run-7', temporal_run_id: 'r1' });
    expect(lines[1]).not.toHaveProperty('taskToken');
    expect(lines[2]).toMatchObject({ level: 'error', message: 'failed' });
    for (const line of lines) expect(typeof line.timestamp).toBe('string');
  });

  test('respects the logger level: TRACE and DEBUG are dropped at info', async () => {
    const { logger, lines, settle } = capture('info');
    const adapter = new TemporalLoggerAdapter(logger);
    adapter.trace('noise');
    adapter.debug('noise');
    adapter.info('kept', { workflowId: 'run-8' });
    await settle();
    expect(lines.map((l) => [l.level, l.message, l.run_id])).toEqual([['info', 'kept', 'run-8']]);
  });
});

describe('errors on a line', () => {
  test("a failed activity's error keeps its type, message and cause, redacted", async () => {
    const { logger, lines, settle } = capture('debug');
    const { ApplicationFailure } = await import('@temporalio/common');
    const cause = new Error('fetch failed: ECONNREFUSED');
    const error = ApplicationFailure.create({
      type: 'ModelUnavailable',
      message: 'openai/gpt: vendor answered 500 with Bearer abcdefghijklmnop1234',
      cause,
    });
    new TemporalLoggerAdapter(logger).warn('Activity failed', { error, durationMs: 12 });
    await settle();
    expect(lines[0]).toMatchObject({
      message: 'Activity failed',
      error: {
        name: 'ApplicationFailure',
        type: 'ModelUnavailable',
        nonRetryable: false,
        message: 'openai/gpt: vendor answered 500 with Bearer [REDACTED]',
        cause: { name: 'Error', message: 'fetch failed: ECONNREFUSED' },
      },
    });
  });
});
