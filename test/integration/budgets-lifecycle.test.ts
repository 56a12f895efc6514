import { ErrorCode } from '../../contracts/errors';
import type { Approval } from '../../contracts/run';
import type { FakeLlmVendor } from '../../scripts/fakes/openai-vendor';
import { startLifecyclePlatform, type LifecyclePlatform } from '../support/lifecycle-platform';
import { waitForRun, type TestPlatform } from '../support/platform';

// Run budgets (tokens, cost, deadline, steps) end to end on the real dev server.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;
let vendor: FakeLlmVendor;
let dispatch: LifecyclePlatform['dispatch'];

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform, vendor, dispatch } = lifecycle);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('budgets', () => {
  // max_steps and max_tokens stopping a run are step logic, proven without HTTP in test/workflow/agent-run.test.ts.
  test('max_cost_usd: priced vendor tokens count toward the cost budget', async () => {
    vendor.respondWith(() => ({
      content: { type: 'tool_call', tool: 'docs_search', args: { query: 'runs' }, reason: 'look' },
      usage: { prompt_tokens: 1000, completion_tokens: 1000 },
    }));
    try {
      const runId = await dispatch('vendor-priced', 'Cost', { constraints: { max_cost_usd: 1.5 } });
      const run = await waitForRun(platform, runId);
      expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_cost_usd' });
      expect((run.usage as { cost_usd: number }).cost_usd).toBeCloseTo(2, 5);
    } finally {
      vendor.respondWith(() => ({}));
    }
  });

  test('timeout_seconds: the deadline timer interrupts a run waiting for approval, whose approval is withdrawn', async () => {
    const runId = await dispatch('ticket-filer', 'Too slow', { constraints: { timeout_seconds: 2 } });
    const run = await waitForRun(platform, runId);
    expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: timeout_seconds' });
    expect((run.steps as { type: string }[]).at(-2)!.type).toBe('HumanApproval');
    expect((run.approvals as Approval[]).map((a) => a.status)).toEqual(['withdrawn']);
  });

  test("a caller's constraints tighten the agent's budgets but never loosen them", async () => {
    // tight-budget allows 2 steps; asking for 100 still stops the run at 2.
    const run = await waitForRun(platform, await dispatch('tight-budget', 'Loosen?', { constraints: { max_steps: 100 } }));
    expect(run.error).toEqual({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_steps' });
    expect((run.steps as unknown[]).length).toBe(3);
  });
});
