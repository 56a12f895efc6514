import { startLifecyclePlatform, type Credentials, type LifecyclePlatform } from '../support/lifecycle-platform';
import { eventually, http, waitForRun, type TestPlatform } from '../support/platform';

// Cancelling a run mid tool call, and an operator completing a waiting run by hand, on the real dev server.

let lifecycle: LifecyclePlatform;
let platform: TestPlatform;
let ALICE: Credentials;
let OPERATOR: Credentials;
let dispatch: LifecyclePlatform['dispatch'];
let getRun: LifecyclePlatform['getRun'];
let pendingApproval: LifecyclePlatform['pendingApproval'];
let ticketsOf: LifecyclePlatform['ticketsOf'];

beforeAll(async () => {
  lifecycle = await startLifecyclePlatform();
  ({ platform, dispatch, getRun, pendingApproval, ticketsOf } = lifecycle);
  ({ ALICE, OPERATOR } = lifecycle.people);
});

afterAll(async () => {
  await lifecycle.stop();
});

describe('cancel and takeover', () => {
  test('cancel during a tool call: the tool is interrupted, effects already made are listed, status cancelled', async () => {
    const runId = await dispatch('no-approval-slow', 'Cancel me');
    await eventually(async () => {
      const run = await getRun(runId);
      const steps = run.steps as { type: string; input_summary: string; ended_at?: string }[] | undefined;
      return steps?.some((s) => s.type === 'ToolCall' && s.input_summary.startsWith('slow_wait') && !s.ended_at) ? true : undefined;
    });
    const res = await http(platform, 'POST', `/v1/runs/${runId}/cancel`, undefined);
    expect(res.status).toBe(202);
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('cancelled');
    const output = run.output as { actions_taken: { tool: string }[] };
    expect(output.actions_taken.map((a) => a.tool)).toEqual(['ticket_create']);
    expect(await ticketsOf(runId)).toHaveLength(1);
    const steps = run.steps as { type: string; output_summary?: string }[];
    expect(steps.at(-1)!.type).toBe('Fail');
    expect(steps.find((s) => s.type === 'ToolCall' && s.output_summary === 'interrupted')).toBeDefined();
    const again = await http(platform, 'POST', `/v1/runs/${runId}/cancel`, undefined);
    expect(again.status).toBe(409);
  });

  test('manual takeover completes a waiting run with a human-provided result; non-operators are refused', async () => {
    const runId = await dispatch('ticket-filer', 'Take me over');
    await pendingApproval(runId);
    const refused = await http(platform, 'POST', `/v1/runs/${runId}/takeover`, { result: { done: true }, reason: 'x' }, ALICE);
    expect(refused.status).toBe(403);
    const res = await http(
      platform,
      'POST',
      `/v1/runs/${runId}/takeover`,
      { result: { resolution: 'fixed by hand' }, reason: 'approver on leave' },
      OPERATOR,
    );
    expect(res.status).toBe(200);
    expect(res.body.output).toMatchObject({ result: { resolution: 'fixed by hand' }, completed_by: 'human' });
    const run = await waitForRun(platform, runId);
    expect(run.status).toBe('completed');
    expect(run.output).toMatchObject({ completed_by: 'human', warnings: ['completed by hand by olga: approver on leave'] });
    expect(await ticketsOf(runId)).toEqual([]);
  });
});
