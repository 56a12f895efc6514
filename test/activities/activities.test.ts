// The activities' own logic in @temporalio/testing's MockActivityEnvironment: the heartbeat and
// cancellation path of the tool activity, what it keeps out of history, and the budget reservation that
// settles the previous call first, on a real PostgreSQL store. Before these, each was reached only
// through a worker and the gateway.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { z } from 'zod';
import { FileBlobStore } from '../../activities/blob-store';
import { governanceActivities } from '../../activities/governance-activities';
import { toolActivities } from '../../activities/tool-activity';
import { ToolRegistry } from '../../activities/tools/registry';
import { defineTool, type ToolDefinition } from '../../activities/tools/tool';
import type { ReserveBudgetRequest } from '../../contracts/governance';
import type { ToolCallRequest, ToolCallResult } from '../../contracts/run';
import { WorkerMetrics } from '../../observability/metrics';
import { openTestStore, type TestStore } from '../support/governance';
import { scratchDir } from '../support/tools';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const request = (tool: string, args: Record<string, unknown> = {}): ToolCallRequest => ({
  run_id: 'run-1',
  step: 2,
  agent: { name: 'helper', version: '1.0.0' },
  tool,
  args,
});

/** A read tool with free-form input and output. */
function tool(name: string, execute: ToolDefinition['execute']): ToolDefinition {
  return defineTool({
    name,
    description: name,
    input: z.record(z.string(), z.unknown()),
    output: z.unknown(),
    side_effect: 'read',
    max_classification: 'internal',
    timeout_ms: 60_000,
    max_attempts: 1,
    execute,
  });
}

function callToolWith(tools: ToolDefinition[], maxInlineOutputBytes = 32 * 1024) {
  const blobs = new FileBlobStore(scratchDir('blobs'));
  const activities = toolActivities({ tools: new ToolRegistry(tools), blobs, maxInlineOutputBytes, metrics: new WorkerMetrics() });
  return { callTool: (req: ToolCallRequest) => activities.callTool(req), blobs };
}

describe('callTool', () => {
  test('a cancel delivered through a heartbeat aborts the running tool and fails the activity as cancelled', async () => {
    let sawAbort = false;
    const hanging = tool('hang', (_args, ctx) => {
      return new Promise((_resolve, reject) => {
        const abort = () => {
          sawAbort = true;
          reject(new Error('the backend call was aborted'));
        };
        if (ctx.signal.aborted) abort();
        else ctx.signal.addEventListener('abort', abort);
      });
    });
    const { callTool } = callToolWith([hanging]);
    const env = new MockActivityEnvironment({}, { logger: quiet });
    // Cancellation reaches an activity only after it heartbeats: cancel on the first one.
    let heartbeats = 0;
    env.on('heartbeat', () => {
      if (++heartbeats === 1) env.cancel();
    });
    const failure = await env.run(callTool, request('hang')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(heartbeats).toBeGreaterThanOrEqual(1);
    expect(sawAbort).toBe(true);
    // What the tool threw after the abort is reported as the cancellation, so the workflow sees a cancel, not a tool error.
    expect(failure).toBeInstanceOf(CancelledFailure);
  });

  test('an output too large for history is kept in the blob store; the result carries its reference and a preview', async () => {
    const big = { rows: Array.from({ length: 50 }, (_, i) => ({ i, text: 'x'.repeat(20) })) };
    const { callTool, blobs } = callToolWith([tool('big', async () => ({ output: big }))], 256);
    const result = await new MockActivityEnvironment({}, { logger: quiet }).run<[ToolCallRequest], ToolCallResult, typeof callTool>(
      callTool,
      request('big'),
    );
    const kept = result.output as { truncated: boolean; ref: string; bytes: number; preview: string };
    expect(kept).toMatchObject({ truncated: true, bytes: Buffer.byteLength(JSON.stringify(big)) });
    expect(kept.preview).toBe(JSON.stringify(big).slice(0, 2000));
    expect(await blobs.get(kept.ref)).toEqual(big);
  });

  test('an output within the limit stays inline; evidence is cut to 20 items of 500 characters', async () => {
    const evidence = Array.from({ length: 25 }, (_, i) => ({ source: `doc-${i}`, excerpt: 'e'.repeat(800) }));
    const { callTool } = callToolWith([tool('cited', async () => ({ output: { answer: 42 }, evidence }))]);
    const result = await new MockActivityEnvironment({}, { logger: quiet }).run<[ToolCallRequest], ToolCallResult, typeof callTool>(
      callTool,
      request('cited'),
    );
    expect(result.output).toEqual({ answer: 42 });
    expect(result.evidence).toHaveLength(20);
    expect(result.evidence[19]).toEqual({ source: 'doc-19', excerpt: 'e'.repeat(500) });
  });

  test('an unknown tool fails without a retry', async () => {
    const { callTool } = callToolWith([]);
    const failure = await new MockActivityEnvironment({}, { logger: quiet }).run(callTool, request('nope')).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'ToolNotFound', nonRetryable: true });
  });
});

/** The reserveBudget activity over the store. */
function reserveBudgetOf(db: TestStore) {
  const activities = governanceActivities({ governance: db.store, metrics: new WorkerMetrics() });
  return (req: ReserveBudgetRequest) => activities.reserveBudget(req);
}

describe('reserveBudget on PostgreSQL', () => {
  let db: TestStore;
  beforeAll(async () => {
    db = await openTestStore();
  });
  afterAll(() => db.close());

  const reserve = (step: number, estimate_usd: number, tenant: string) => ({
    tenant,
    // Reservations are idempotent per run, execution and step: each test its own run.
    run_id: `run-${tenant}`,
    execution: 'exec-1',
    step,
    estimate_usd,
    estimate_tokens: 100,
    limit: { daily_cost_usd: 5 },
  });

  test("settles the previous call first, so the reservation counts that call's actual cost, not its estimate", async () => {
    const reserveBudget = reserveBudgetOf(db);
    const env = new MockActivityEnvironment({}, { logger: quiet });
    expect(await env.run(reserveBudget, reserve(1, 3, 'settles'))).toMatchObject({ granted: true, replayed: false });
    // Without the settlement, 3 (the first estimate) + 3.5 would be over the 5 a day.
    const settle_first = { run_id: 'run-settles', execution: 'exec-1', step: 1, actual_usd: 1, actual_tokens: 80 };
    expect(await env.run(reserveBudget, { ...reserve(2, 3.5, 'settles'), settle_first })).toMatchObject({ granted: true });
    // And a third call over what is left (5 - 1 - 3.5) is denied with the tenant's numbers.
    const denied = await env.run(reserveBudget, reserve(3, 1, 'settles'));
    expect(denied).toMatchObject({ granted: false, exceeded: 'tenant_daily_cost' });
  });

  test('without the settlement the same second call is denied: the estimate still counts', async () => {
    const reserveBudget = reserveBudgetOf(db);
    const env = new MockActivityEnvironment({}, { logger: quiet });
    await env.run(reserveBudget, reserve(1, 3, 'unsettled'));
    expect(await env.run(reserveBudget, reserve(2, 3.5, 'unsettled'))).toMatchObject({ granted: false, exceeded: 'tenant_daily_cost' });
  });

  test('a retried reservation (same run, execution and step) answers as the first did and counts once', async () => {
    const reserveBudget = reserveBudgetOf(db);
    const env = new MockActivityEnvironment({}, { logger: quiet });
    const first = await env.run(reserveBudget, reserve(1, 4, 'retried'));
    const again = await env.run(reserveBudget, reserve(1, 4, 'retried'));
    expect(first).toMatchObject({ granted: true, replayed: false });
    expect(again).toMatchObject({ granted: true, replayed: true });
    // Counted once: 4 of 5 spent, so a 0.5 call still fits and a 1.5 call does not.
    expect(await env.run(reserveBudget, reserve(2, 0.5, 'retried'))).toMatchObject({ granted: true });
    expect(await env.run(reserveBudget, reserve(3, 1.5, 'retried'))).toMatchObject({ granted: false });
  });
});
