// Every row of the run's transition table, from both ends: each handler runs alone over fake services
// (./steps-harness), is handed an event that leads to it, and must answer with the event the row names,
// carrying the data the next step needs. Two checks keep the rows complete: every (step, event) of the
// table is produced by some row, and every event that leads into a step handler is handed to it by some
// row. The events into Complete and Fail (the interpreter's own, not handlers) are proven at the
// workflow level, where the same kind of check ends test/workflow/agent-run.test.ts.
import { ApplicationFailure } from '@temporalio/common';
import type { ActiveStep } from '../../workflows/state-machine';
import { ErrorCode } from '../../contracts/errors';
import { argsHash } from '../../shared/canonical';
import { compilePolicy } from '../../policies/load';
import type { RunEvent } from '../../workflows/events';
import { isTerminal, TRANSITIONS, transition, type RunEventType } from '../../workflows/state-machine';
import { STEP_HANDLERS, type StepHandler } from '../../workflows/steps/handlers';
import { answer, fakeRun, type FakeRunOptions } from './steps-harness';

const catalog = { agents: ['helper'], tools: ['lookup', 'ticket_create'] };
const policyOf = (text: string) => compilePolicy([{ file: 'p.yaml', text }], catalog);
const START = { type: 'start', reason: 'run started' } as const;
const FAILURE = { type: 'VendorDown', message: 'the vendor is down', from: 'model' } as const;
const TOOL_FAILURE = { type: 'Error', message: 'boom', from: 'tool' } as const;
const ESCALATE_TO = { roles: ['oncall'], subjects: [] };
const CHEAP = { provider: 'openai', name: 'gpt-mini', pricing: { input_per_1k: 0.0001, output_per_1k: 0.0002 } };
const SCHEMA = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
const RULE = { tool: 'ticket_create', reason: 'writes a ticket', approvers: { roles: ['approver'], subjects: [] } };

interface Row {
  name: string;
  from: ActiveStep;
  /** The event the step is handed. */
  given: Parameters<StepHandler<ActiveStep>>[1];
  options?: FakeRunOptions;
  /** The event the step must answer with (matched as a subset). */
  expected: RunEvent | { type: RunEventType; [k: string]: unknown };
  /** What earlier steps left in the ledger, set before the step runs. */
  setup?: (run: ReturnType<typeof fakeRun>) => void;
  check?: (run: ReturnType<typeof fakeRun>) => void;
}

const rows: Row[] = [
  // Plan
  {
    name: 'the model asks for a tool',
    from: 'Plan',
    given: START,
    options: { plan: async () => answer({ type: 'tool_call', tool: 'lookup', args: { q: 'x' }, reason: 'to look' }) },
    expected: { type: 'tool_requested', request: { tool: 'lookup', args: { q: 'x' }, reason: 'to look' } },
    check: ({ ctx, calls }) => {
      expect(ctx.ledger.usage).toEqual({ input_tokens: 10, output_tokens: 5, cost_usd: 0.001 });
      expect(ctx.ledger.state.steps[0]).toMatchObject({ type: 'Plan', reason: 'run started', usage: { cost_usd: 0.001 } });
      expect(calls.plans[0]).toMatchObject({ run_id: 'run-1', step: 1, task: 'find the answer' });
      expect(calls.options[0]!.summary).toBe('plan with openai/gpt-main');
      expect(ctx.display.tool).toBe('lookup');
    },
  },
  {
    name: 'the model proposes a final result',
    from: 'Plan',
    given: { type: 'continue' },
    options: { plan: async () => answer({ type: 'final', result: { answer: 'yes' }, reason: '' }) },
    expected: { type: 'final_proposed', result: { answer: 'yes' } },
    check: ({ ctx }) => expect(ctx.ledger.state.steps[0]!.reason).toBe('continue'),
  },
  {
    name: 'the model call fails after a billed answer (the usage counts)',
    from: 'Plan',
    given: { type: 'retry' },
    options: {
      plan: () =>
        Promise.reject(
          ApplicationFailure.create({
            type: 'ModelUnusable',
            message: 'not an action',
            details: [{ usage: { input_tokens: 7, output_tokens: 3, cost_usd: 0.002 } }],
          }),
        ),
    },
    expected: { type: 'model_failed', failure: { type: 'ModelUnusable', message: 'not an action', from: 'model' } },
    check: ({ ctx, calls }) => {
      expect(calls.patches).toEqual(['model-usage-on-failure']);
      expect(ctx.ledger.usage.cost_usd).toBe(0.002);
      expect(ctx.ledger.state.steps[0]!.error).toEqual({ type: 'ModelUnusable', message: 'not an action', from: 'model' });
    },
  },
  {
    name: 'the policy denies the model call',
    from: 'Plan',
    given: START,
    options: { input: { policy: policyOf('rules:\n  - { id: no-models, action: model_call, effect: deny }\n') } },
    expected: { type: 'model_denied', error: { type: ErrorCode.PolicyDenied } },
    check: ({ calls }) => {
      expect(calls.plans).toHaveLength(0);
      expect(calls.audits).toEqual([expect.objectContaining({ action: 'policy.model_call', outcome: 'deny', rule: 'no-models' })]);
    },
  },
  {
    name: "the run's cost budget cannot cover the call",
    from: 'Plan',
    given: START,
    options: { input: { constraints: { max_cost_usd: 0.0001 } } },
    expected: { type: 'budget_denied', denial: { detail: 'max_cost_usd: the run has spent $0 of $0.0001' } },
    check: ({ calls }) => expect(calls.plans).toHaveLength(0),
  },
  {
    name: 'after a fallback, the model call goes to the fallback model',
    from: 'Plan',
    given: { type: 'fallback' },
    options: { def: { fallback: { model: CHEAP } }, plan: async () => answer({ type: 'final', result: 'ok', reason: '' }) },
    setup: ({ ctx }) => void (ctx.ledger.fallbackUsed = true),
    expected: { type: 'final_proposed', result: 'ok' },
    check: ({ ctx, calls }) => {
      expect(calls.plans[0]!.agent.definition.model).toMatchObject({ name: 'gpt-mini' });
      expect(calls.options[0]!.summary).toBe('plan with openai/gpt-mini');
      expect(ctx.ledger.state.steps[0]!.reason).toBe('fallback');
    },
  },
  {
    name: 'a repair turn: the model is shown why its final result was rejected',
    from: 'Plan',
    given: { type: 'final_invalid_repairable' },
    options: { plan: async () => answer({ type: 'final', result: { answer: 'fixed' }, reason: '' }) },
    setup: ({ ctx }) =>
      void ctx.ledger.observations.push({ step: 1, tool: 'output_spec', args: {}, output: { rejected_result: 1 }, evidence: [] }),
    expected: { type: 'final_proposed', result: { answer: 'fixed' } },
    check: ({ ctx, calls }) => {
      expect(calls.plans[0]!.observations).toEqual([expect.objectContaining({ tool: 'output_spec', output: { rejected_result: 1 } })]);
      expect(ctx.ledger.state.steps[0]!.reason).toBe('final_invalid_repairable');
    },
  },
  // ToolCall
  {
    name: 'the agent demands an approval for the tool',
    from: 'ToolCall',
    given: { type: 'tool_requested', request: { tool: 'ticket_create', args: { title: 't' }, reason: 'file it' } },
    options: { def: { approvals: [RULE] } },
    expected: {
      type: 'approval_required',
      request: { tool: 'ticket_create', args: { title: 't' }, reason: 'file it' },
      ask: { rule: expect.objectContaining({ tool: 'ticket_create' }), step: 1, required_by: 'agent' },
    },
    check: ({ calls, ctx }) => {
      expect(calls.tools).toHaveLength(0);
      expect(ctx.display.approval).toMatchObject({ kind: 'tool_call', approvers: RULE.approvers, step: 1 });
    },
  },
  {
    name: "the tool is not one of the agent's",
    from: 'ToolCall',
    given: { type: 'tool_requested', request: { tool: 'rm_rf', args: {}, reason: '' } },
    expected: { type: 'tool_denied', error: { type: ErrorCode.ToolNotAllowed } },
    check: ({ calls }) => expect(calls.denied).toEqual(['rm_rf']),
  },
  {
    name: 'an approved write runs with the approved arguments and is audited with their hash',
    from: 'ToolCall',
    given: {
      type: 'approved',
      request: { tool: 'ticket_create', args: { title: 'edited' }, reason: 'file it' },
      approvedHash: argsHash('ticket_create', { title: 'edited' }),
    },
    options: { def: { approvals: [RULE] }, callTool: async () => ({ output: { id: 'T-9' }, evidence: [] }) },
    expected: { type: 'tool_succeeded' },
    check: ({ calls, ctx }) => {
      expect(calls.tools[0]).toMatchObject({ tool: 'ticket_create', args: { title: 'edited' }, step: 1 });
      expect(calls.audits[0]).toMatchObject({
        action: 'tool.write',
        details: { approved_args_hash: argsHash('ticket_create', { title: 'edited' }) },
      });
      expect(ctx.ledger.actions).toEqual([{ step: 1, tool: 'ticket_create', side_effect: 'write', args: { title: 'edited' } }]);
    },
  },
  {
    name: 'the tool fails',
    from: 'ToolCall',
    given: { type: 'tool_requested', request: { tool: 'lookup', args: {}, reason: '' } },
    options: { callTool: () => Promise.reject(new Error('boom')) },
    expected: { type: 'tool_failed', failure: TOOL_FAILURE },
  },
  // HumanApproval
  {
    name: 'the approvers approve (with edited arguments)',
    from: 'HumanApproval',
    given: {
      type: 'approval_required',
      request: { tool: 'ticket_create', args: { title: 't' }, reason: 'r' },
      ask: { rule: { ...RULE, quorum: 1, timeout_seconds: 60, on_timeout: 'reject' }, step: 1, required_by: 'agent' },
    },
    options: {
      decide: (ctx) => {
        const a = ctx.ledger.state.approvals[0]!;
        a.args = { title: 'edited' };
        a.args_hash = argsHash('ticket_create', a.args);
        a.status = 'approved';
      },
    },
    expected: {
      type: 'approved',
      request: { tool: 'ticket_create', args: { title: 'edited' }, reason: 'r' },
      approvedHash: argsHash('ticket_create', { title: 'edited' }),
    },
    check: ({ calls, ctx }) => {
      expect(calls.timeouts).toEqual([60_000]);
      expect(ctx.ledger.state.approvals[0]).toMatchObject({ id: 'apr-1', kind: 'tool_call', tool: 'ticket_create' });
      expect(calls.accepted).toEqual([expect.objectContaining({ action: 'approval.close', outcome: 'approved' })]);
    },
  },
  {
    name: 'the approvers reject the tool call',
    from: 'HumanApproval',
    given: {
      type: 'approval_required',
      request: { tool: 'ticket_create', args: { title: 't' }, reason: 'r' },
      ask: { rule: { ...RULE, quorum: 1, timeout_seconds: 60, on_timeout: 'reject' }, step: 1, required_by: 'policy' },
    },
    options: {
      decide: (ctx) => {
        const a = ctx.ledger.state.approvals[0]!;
        a.decisions.push({ approver: 'bob', decision: 'reject', comment: 'no', at: '2026-01-01T00:00:00Z' });
        a.status = 'rejected';
      },
    },
    expected: { type: 'rejected', kind: 'tool_call' },
    check: ({ ctx }) => {
      expect(ctx.ledger.warnings).toEqual(['ticket_create was not run: rejected by bob: no']);
      expect(ctx.ledger.observations[0]).toMatchObject({ tool: 'ticket_create', output: { not_run: true } });
    },
  },
  {
    name: 'the escalation approver gives up',
    from: 'HumanApproval',
    given: { type: 'escalate', failure: FAILURE },
    options: {
      def: { fallback: { escalate_to: ESCALATE_TO } },
      decide: (ctx) => void (ctx.ledger.state.approvals[0]!.status = 'rejected'),
    },
    expected: { type: 'rejected', kind: 'escalation', failure: FAILURE },
    check: ({ ctx, calls }) => {
      expect(ctx.ledger.state.approvals[0]).toMatchObject({
        kind: 'escalation',
        approvers: ESCALATE_TO,
        reason: 'the run keeps failing: VendorDown: the vendor is down',
      });
      expect(calls.timeouts).toEqual([3_600_000]);
    },
  },
  {
    name: 'the escalation approver retries',
    from: 'HumanApproval',
    given: { type: 'escalate', failure: FAILURE },
    options: {
      def: { fallback: { escalate_to: ESCALATE_TO } },
      decide: (ctx) => void (ctx.ledger.state.approvals[0]!.status = 'approved'),
    },
    expected: { type: 'retry', failure: FAILURE },
  },
  // Validate
  {
    name: 'a tool output (checked by its activity)',
    from: 'Validate',
    given: { type: 'tool_succeeded' },
    expected: { type: 'output_valid' },
  },
  {
    name: 'a final result that matches the output schema',
    from: 'Validate',
    given: { type: 'final_proposed', result: { answer: 'yes' } },
    options: { def: { output_schema: SCHEMA } },
    expected: { type: 'final_valid', result: { answer: 'yes' } },
  },
  {
    name: 'a final result that violates it, with a repair left',
    from: 'Validate',
    given: { type: 'final_proposed', result: { answer: 1 } },
    options: { def: { output_schema: SCHEMA, max_repairs: 1 } },
    expected: { type: 'final_invalid_repairable' },
    check: ({ ctx }) => {
      expect(ctx.ledger.repairs).toBe(1);
      expect(ctx.ledger.observations[0]).toMatchObject({ tool: 'output_spec', output: { rejected_result: { answer: 1 } } });
    },
  },
  {
    name: 'a final result that violates it, with no repair left',
    from: 'Validate',
    given: { type: 'final_proposed', result: {} },
    options: { def: { output_schema: SCHEMA, max_repairs: 0 } },
    expected: { type: 'final_invalid', error: { type: ErrorCode.OutputSpecViolation } },
  },
  // Decide
  {
    name: 'after a tool result, the run goes on',
    from: 'Decide',
    given: { type: 'output_valid' },
    expected: { type: 'continue' },
    check: ({ ctx }) => expect(ctx.ledger.state.steps[0]!.input_summary).toBe('after a tool result'),
  },
  {
    name: 'after a rejected tool call, the run goes on (the model sees why)',
    from: 'Decide',
    given: { type: 'rejected', kind: 'tool_call' },
    expected: { type: 'continue' },
    check: ({ ctx }) => expect(ctx.ledger.state.steps[0]!.input_summary).toBe('after a rejection'),
  },
  {
    name: 'after a rejected escalation, the run gives up with the failure it escalated',
    from: 'Decide',
    given: { type: 'rejected', kind: 'escalation', failure: FAILURE },
    expected: { type: 'give_up', error: { type: 'VendorDown', message: 'gave up after escalation: the vendor is down' } },
  },
  {
    name: 'a budget denial falls back to a cheaper model',
    from: 'Decide',
    given: { type: 'budget_denied', denial: { detail: 'max_cost_usd', estimate: { tokens: 2000, cost_usd: 0.05 }, promptChars: 100 } },
    options: { def: { fallback: { model: CHEAP } } },
    expected: { type: 'fallback' },
    check: ({ ctx }) => {
      expect(ctx.ledger.fallbackUsed).toBe(true);
      expect(ctx.ledger.warnings[0]).toContain('fell back to the cheaper openai/gpt-mini');
    },
  },
  {
    name: 'a budget denial with no cheaper model gives up',
    from: 'Decide',
    given: { type: 'budget_denied', denial: { detail: 'tenant_daily_cost', estimate: { tokens: 2000, cost_usd: 0.05 }, promptChars: 100 } },
    expected: { type: 'give_up', error: { type: ErrorCode.BudgetExceeded, message: 'budget_exceeded: tenant_daily_cost' } },
  },
  // RetryFallback
  {
    name: 'the escalation approver asked to retry',
    from: 'RetryFallback',
    given: { type: 'retry', failure: FAILURE },
    expected: { type: 'retry' },
    check: ({ ctx }) => expect(ctx.ledger.state.steps[0]!.input_summary).toBe('VendorDown: the vendor is down'),
  },
  {
    name: 'a failed model falls back to the fallback model once',
    from: 'RetryFallback',
    given: { type: 'model_failed', failure: FAILURE },
    options: { def: { fallback: { model: CHEAP } } },
    expected: { type: 'fallback' },
    check: ({ ctx }) => expect(ctx.ledger.fallbackUsed).toBe(true),
  },
  {
    name: 'a failure with people to escalate to escalates',
    from: 'RetryFallback',
    given: { type: 'tool_failed', failure: TOOL_FAILURE },
    options: { def: { fallback: { escalate_to: ESCALATE_TO } } },
    expected: { type: 'escalate', failure: TOOL_FAILURE },
    check: ({ ctx }) => expect(ctx.display.approval).toEqual({ kind: 'escalation', approvers: ESCALATE_TO }),
  },
  {
    name: 'a failure with nothing left to try gives up with its error',
    from: 'RetryFallback',
    given: { type: 'tool_failed', failure: TOOL_FAILURE },
    expected: { type: 'give_up', error: { type: 'Error', message: 'boom' } },
  },
];

const ANYWHERE = ['budget_exceeded', 'cancelled', 'taken_over'] as const;
const ACTIVE = (Object.keys(TRANSITIONS) as (keyof typeof TRANSITIONS)[]).filter((s): s is ActiveStep => !isTerminal(s));

test('the rows below cover every transition of the table a step handler produces', () => {
  const covered = new Set(rows.map((r) => `${r.from} + ${r.expected.type}`));
  const table = ACTIVE.flatMap((s) =>
    Object.keys(TRANSITIONS[s])
      .filter((e) => !(ANYWHERE as readonly string[]).includes(e))
      .map((e) => `${s} + ${e}`),
  );
  expect([...covered].sort()).toEqual(table.sort());
});

test('the rows below hand every step handler every event that leads into it', () => {
  const handed = new Set(rows.map((r) => `${r.given.type} → ${r.from}`));
  const table = ACTIVE.flatMap((s) =>
    Object.entries(TRANSITIONS[s])
      .filter(([, next]) => !isTerminal(next))
      .map(([event, next]) => `${event} → ${next}`),
  );
  expect([...handed].filter((h) => !h.startsWith('start ')).sort()).toEqual([...new Set(table)].sort());
});

describe.each(rows)('$from: $name', (row) => {
  test(`answers ${row.expected.type}, and the table goes on to ${TRANSITIONS[row.from][row.expected.type]}`, async () => {
    const run = fakeRun(row.options);
    row.setup?.(run);
    const handler = STEP_HANDLERS[row.from] as StepHandler<ActiveStep>;
    const out = await handler(run.ctx, row.given);
    expect(out).toMatchObject(row.expected);
    expect(run.ctx.ledger.state.steps.map((s) => s.type)).toEqual([row.from]);
    expect(run.ctx.ledger.state.steps[0]!.ended_at).toBeDefined();
    expect(transition(row.from, out.type)).toBe(TRANSITIONS[row.from][row.expected.type]);
    row.check?.(run);
  });
});
