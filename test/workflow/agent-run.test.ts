// Workflow-level tests of agentRun: the real workflow bundle on a real Worker, with fake activities
// answering from a script, driven through @temporalio/testing's client. No gateway and no HTTP: what
// these prove is the run's own logic over real Temporal (updates, cancellation, timers, the history).
//
// Decision (docs/testing.md): the project runs exactly one Temporal dev server per test run (jest's
// globalSetup, test/support/global-setup.ts, exports TEST_TEMPORAL_ADDRESS/TEST_TEMPORAL_NAMESPACE).
// TestWorkflowEnvironment.createLocal would start another server for each file, so these tests use
// TestWorkflowEnvironment.createFromExistingServer({ address, namespace }) against that one server;
// every run has its own task queue and workflow id. The bundle is built once per file.
//
// The Complete and Fail steps are the interpreter's own (workflows/agent-run.ts), not step handlers, so
// the unit tests of the steps (test/unit/steps-table.test.ts) cannot reach them: every event that leads
// into them is proven here, with the data it carries landing in the run's output, and the last test
// fails if the table gains an event into Complete or Fail that no test here ends a run with.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ErrorCode } from '../../contracts/errors';
import { compilePolicy } from '../../policies/load';
import { argsHash } from '../../shared/canonical';
import { approvalUpdate, takeoverUpdate } from '../../workflows/messages';
import { isTerminal, TRANSITIONS, transition, type RunEventType } from '../../workflows/state-machine';
import type { StepType } from '../../contracts/run';
import { answer, closeEnv, openEnv, pendingApproval, runAgent, type Ended } from './agent-run-harness';

const catalog = { agents: ['helper'], tools: ['lookup', 'ticket_create'] };
const policyOf = (rules: string) => compilePolicy([{ file: 'p.yaml', text: `rules:\n${rules}` }], catalog);
const ALLOW_MODELS = '  - { id: models, action: model_call, effect: allow }\n';
const SCHEMA = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
const RULE = { tool: 'ticket_create', reason: 'writes a ticket', approvers: { roles: ['approver'], subjects: [] } };
const CHEAP = { provider: 'openai', name: 'gpt-mini', pricing: { input_per_1k: 0.0001, output_per_1k: 0.0002 } };
const lookup = answer({ type: 'tool_call', tool: 'lookup', args: { q: 'x' }, reason: 'to look' });
const ticket = answer({ type: 'tool_call', tool: 'ticket_create', args: { title: 't' }, reason: 'file it' });
const final = (result: unknown) => answer({ type: 'final', result, reason: 'done' });

/** The event that led into each step, read back from the step's recorded reason (`type` or `type: detail`). */
const eventOf = (reason: string) => reason.split(':')[0] as RunEventType;

/** The events that ended a run in Complete or Fail, as the runs of this file recorded them. */
const intoTerminal = new Set<string>();

/** Every step of the run follows from the one before by the table, and the event that ended it is noted. */
function followsTable({ state }: Ended): StepType[] {
  const types = state.steps.map((s) => s.type);
  for (let i = 1; i < state.steps.length; i++) {
    expect(transition(state.steps[i - 1]!.type, eventOf(state.steps[i]!.reason))).toBe(state.steps[i]!.type);
  }
  const last = state.steps.at(-1)!;
  expect(isTerminal(last.type)).toBe(true);
  intoTerminal.add(`${eventOf(last.reason)} → ${last.type}`);
  return types;
}

/** The ApplicationFailure a failed run ended with. */
function failureOf(ended: Ended): ApplicationFailure {
  expect(ended.error?.cause).toBeInstanceOf(ApplicationFailure);
  return ended.error!.cause as ApplicationFailure;
}

beforeAll(openEnv);
afterAll(closeEnv);

test('a tool call and a final answer: the tool output reaches the next model call and the result the output', async () => {
  const ended = await runAgent({
    plan: async (_req, n) => (n === 1 ? lookup : final({ answer: 'yes' })),
    callTool: async () => ({ output: { found: 42 }, evidence: [] }),
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'Validate', 'Decide', 'Plan', 'Validate', 'Complete']);
  expect(ended.output).toMatchObject({ status: 'completed', result: { answer: 'yes' }, completed_by: 'agent' });
  expect(ended.output!.usage).toEqual({ input_tokens: 20, output_tokens: 10, cost_usd: 0.002 });
  expect(ended.asked.tools).toEqual([expect.objectContaining({ tool: 'lookup', args: { q: 'x' }, step: 2 })]);
  expect(ended.asked.plans[1]!.observations).toEqual([expect.objectContaining({ tool: 'lookup', output: { found: 42 } })]);
});

test('a final answer that breaks the output schema is repaired once: the model sees what was wrong', async () => {
  const ended = await runAgent({
    def: { output_schema: SCHEMA, max_repairs: 1 },
    plan: async (_req, n) => (n === 1 ? final({ answer: 1 }) : final({ answer: 'one' })),
  });
  expect(followsTable(ended)).toEqual(['Plan', 'Validate', 'Plan', 'Validate', 'Complete']);
  expect(ended.state.steps[2]!.reason).toBe('final_invalid_repairable');
  expect(ended.asked.plans[1]!.observations).toEqual([
    expect.objectContaining({ tool: 'output_spec', output: expect.objectContaining({ rejected_result: { answer: 1 } }) }),
  ]);
  expect(ended.output!.result).toEqual({ answer: 'one' });
});

test('a final answer that breaks the output schema with no repair left fails the run with OutputSpecViolation', async () => {
  const ended = await runAgent({ def: { output_schema: SCHEMA, max_repairs: 0 }, plan: async () => final({}) });
  expect(followsTable(ended)).toEqual(['Plan', 'Validate', 'Fail']);
  expect(failureOf(ended).type).toBe(ErrorCode.OutputSpecViolation);
  expect(ended.state.status).toBe('failed');
});

test('a tool the policy denies is never called; the run fails with PolicyDenied and the denial is audited', async () => {
  const ended = await runAgent({
    input: {
      policy: policyOf(`${ALLOW_MODELS}  - { id: no-tickets, action: tool_call, when: { tools: [ticket_create] }, effect: deny }\n`),
    },
    plan: async () => ticket,
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'Fail']);
  expect(ended.asked.tools).toHaveLength(0);
  const failure = failureOf(ended);
  expect(failure.type).toBe(ErrorCode.PolicyDenied);
  expect(failure.message).toContain('policy denied ticket_create');
  expect(ended.asked.audits).toContainEqual(expect.objectContaining({ action: 'policy.tool_call', outcome: 'deny', rule: 'no-tickets' }));
});

test('a model call the policy denies is never made; the run fails with PolicyDenied', async () => {
  const ended = await runAgent({
    input: { policy: policyOf('  - { id: no-models, action: model_call, effect: deny }\n') },
    plan: async () => final('never'),
  });
  expect(followsTable(ended)).toEqual(['Plan', 'Fail']);
  expect(ended.asked.plans).toHaveLength(0);
  expect(failureOf(ended).type).toBe(ErrorCode.PolicyDenied);
});

test('an approver approves with edited arguments through the update: the tool runs with those, and a late vote is refused', async () => {
  const ended = await runAgent({
    def: { approvals: [RULE] },
    plan: async (_req, n) => (n === 1 ? ticket : final('filed')),
    callTool: async () => ({ output: { id: 'T-9' }, evidence: [] }),
    during: async (handle) => {
      const pending = await pendingApproval(handle);
      expect(pending).toMatchObject({ kind: 'tool_call', tool: 'ticket_create', args_hash: argsHash('ticket_create', { title: 't' }) });
      const vote = { approval_id: pending.id, decision: 'approve' as const, approver: { subject: 'bob', roles: ['approver'] } };
      const result = await handle.executeUpdate(approvalUpdate, {
        args: [{ ...vote, args_hash: pending.args_hash!, edited_args: { title: 'edited' } }],
      });
      expect(result).toMatchObject({ status: 'approved', approvals: 1, quorum: 1 });
      // The validator refuses a vote on a closed approval: a definite answer, and the run is unchanged. (A
      // refused vote before the first accepted one: test/workflow/refused-update-replay.test.ts.)
      await expect(handle.executeUpdate(approvalUpdate, { args: [{ ...vote, args_hash: pending.args_hash! }] })).rejects.toThrow(
        WorkflowUpdateFailedError,
      );
    },
  });
  expect(followsTable(ended)).toEqual([
    'Plan',
    'ToolCall',
    'HumanApproval',
    'ToolCall',
    'Validate',
    'Decide',
    'Plan',
    'Validate',
    'Complete',
  ]);
  expect(ended.asked.tools).toEqual([expect.objectContaining({ tool: 'ticket_create', args: { title: 'edited' } })]);
  expect(ended.output!.approvals).toEqual([expect.objectContaining({ status: 'approved', args: { title: 'edited' } })]);
  expect(ended.output!.actions_taken).toEqual([expect.objectContaining({ tool: 'ticket_create', args: { title: 'edited' } })]);
});

test('an approver rejects through the update: the tool is not run and the model hears why', async () => {
  const ended = await runAgent({
    def: { approvals: [RULE] },
    plan: async (_req, n) => (n === 1 ? ticket : final('not filed')),
    during: async (handle) => {
      const pending = await pendingApproval(handle);
      await handle.executeUpdate(approvalUpdate, {
        args: [
          {
            approval_id: pending.id,
            decision: 'reject',
            args_hash: pending.args_hash!,
            comment: 'no',
            approver: { subject: 'bob', roles: ['approver'] },
          },
        ],
      });
    },
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'HumanApproval', 'Decide', 'Plan', 'Validate', 'Complete']);
  expect(ended.asked.tools).toHaveLength(0);
  expect(ended.asked.plans[1]!.observations).toEqual([
    expect.objectContaining({ tool: 'ticket_create', output: expect.objectContaining({ not_run: true }) }),
  ]);
  expect(ended.output!.warnings).toContain('ticket_create was not run: rejected by bob: no');
});

test('a spent step budget stops the run before the next step with BudgetExceeded', async () => {
  const ended = await runAgent({
    input: { constraints: { max_steps: 3 } },
    plan: async () => lookup,
    callTool: async () => ({ output: 'more', evidence: [] }),
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'Validate', 'Fail']);
  const failure = failureOf(ended);
  expect(failure).toMatchObject({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_steps' });
  expect(ended.asked.plans).toHaveLength(1);
  // The failed run keeps what it did: its partial steps and the tool call it made, in the failure's output.
  expect(failure.details?.[0]).toMatchObject({
    status: 'failed',
    error: { type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_steps' },
    actions_taken: [expect.objectContaining({ tool: 'lookup', args: { q: 'x' } })],
    steps: [{ type: 'Plan' }, { type: 'ToolCall' }, { type: 'Validate' }, { type: 'Fail' }],
  });
});

test('spent tokens stop the run before the next step with BudgetExceeded', async () => {
  // The answer used 15 tokens of the 10 allowed: the call was made (its size is known only after), the next step is not.
  const ended = await runAgent({ input: { constraints: { max_tokens: 10 } }, plan: async () => lookup });
  expect(followsTable(ended)).toEqual(['Plan', 'Fail']);
  expect(failureOf(ended)).toMatchObject({ type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: max_tokens' });
  expect(ended.asked.tools).toHaveLength(0);
  expect(ended.state.steps[1]!.reason).toBe('budget_exceeded: max_tokens');
});

test("a cost budget that cannot cover the agent's model falls back to the cheaper one, which it can", async () => {
  const ended = await runAgent({
    def: { fallback: { model: CHEAP } },
    input: { constraints: { max_cost_usd: 0.005 } },
    plan: async (req) => final(req.agent.definition.model.name),
  });
  expect(followsTable(ended)).toEqual(['Plan', 'Decide', 'Plan', 'Validate', 'Complete']);
  expect(ended.asked.plans.map((p) => p.agent.definition.model.name)).toEqual(['gpt-mini']);
  expect(ended.output!.result).toBe('gpt-mini');
  expect(ended.output!.warnings[0]).toContain('fell back to the cheaper openai/gpt-mini');
});

test('a cost budget that cannot cover the model, with nothing cheaper, fails the run with BudgetExceeded', async () => {
  const ended = await runAgent({ input: { constraints: { max_cost_usd: 0.005 } }, plan: async () => final('never') });
  expect(followsTable(ended)).toEqual(['Plan', 'Decide', 'Fail']);
  expect(ended.asked.plans).toHaveLength(0);
  expect(failureOf(ended).type).toBe(ErrorCode.BudgetExceeded);
});

test('a failed model falls back to the fallback model, which answers', async () => {
  const ended = await runAgent({
    def: { fallback: { model: CHEAP } },
    plan: async (req) => {
      if (req.agent.definition.model.name === 'gpt-main') throw ApplicationFailure.nonRetryable('the vendor is down', 'VendorDown');
      return final('from the fallback');
    },
  });
  expect(followsTable(ended)).toEqual(['Plan', 'RetryFallback', 'Plan', 'Validate', 'Complete']);
  expect(ended.state.steps[1]!.input_summary).toBe('VendorDown: the vendor is down');
  expect(ended.output!.result).toBe('from the fallback');
  expect(ended.output!.warnings[0]).toContain('fell back to openai/gpt-mini');
});

test('a failed model with no fallback gives up with the model failure as the run error', async () => {
  const ended = await runAgent({ plan: () => Promise.reject(ApplicationFailure.nonRetryable('the vendor is down', 'VendorDown')) });
  expect(followsTable(ended)).toEqual(['Plan', 'RetryFallback', 'Fail']);
  expect(failureOf(ended)).toMatchObject({ type: 'VendorDown', message: 'the vendor is down' });
});

test('a cancel while an approval waits ends the run as Cancelled, withdraws the approval and audits the cancel', async () => {
  const ended = await runAgent({
    def: { approvals: [RULE] },
    plan: async () => ticket,
    during: async (handle) => {
      await pendingApproval(handle);
      await handle.cancel();
    },
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'HumanApproval', 'Fail']);
  expect(ended.error?.cause).toBeInstanceOf(CancelledFailure);
  expect(ended.state.status).toBe('cancelled');
  expect(ended.state.approvals[0]!.status).toBe('withdrawn');
  expect(ended.asked.audits).toContainEqual(expect.objectContaining({ action: 'run.cancelled', outcome: 'cancelled' }));
});

test("an operator's takeover while an approval waits completes the run with the operator's result", async () => {
  const ended = await runAgent({
    def: { approvals: [RULE] },
    plan: async () => ticket,
    during: async (handle) => {
      await pendingApproval(handle);
      const operator = { subject: 'op', roles: ['operator'] };
      await expect(
        handle.executeUpdate(takeoverUpdate, { args: [{ result: 1, reason: 'x', operator: { ...operator, roles: ['dispatcher'] } }] }),
      ).rejects.toThrow(WorkflowUpdateFailedError);
      await handle.executeUpdate(takeoverUpdate, { args: [{ result: { answer: 'by hand' }, reason: 'stuck', operator }] });
    },
  });
  expect(followsTable(ended)).toEqual(['Plan', 'ToolCall', 'HumanApproval', 'Complete']);
  expect(ended.output).toMatchObject({ status: 'completed', result: { answer: 'by hand' }, completed_by: 'human' });
  expect(ended.output!.warnings).toContain('completed by hand by op: stuck');
  expect(ended.asked.tools).toHaveLength(0);
  expect(ended.asked.audits).toContainEqual(expect.objectContaining({ action: 'run.taken_over', principal: 'op' }));
});

// Last in the file: the runs above must have ended by every event the table leads into Complete or Fail.
test('the runs above end by every event that leads into Complete or Fail', () => {
  const table = new Set(
    Object.values(TRANSITIONS).flatMap((row) =>
      Object.entries(row)
        .filter(([, next]) => isTerminal(next))
        .map(([event, next]) => `${event} → ${next}`),
    ),
  );
  expect([...intoTerminal].sort()).toEqual([...table].sort());
});
