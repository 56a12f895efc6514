// The three rows every non-terminal step shares (budget_exceeded, cancelled → Fail; taken_over →
// Complete): before a step the interpreter's check yields the interrupt instead of running it, and a
// step whose work is interrupted answers with the interrupt, releasing or counting its budget hold.
import type { ActiveStep } from '../../workflows/state-machine';
import { isTerminal, STEP_TYPES, transition } from '../../workflows/state-machine';
import { STEP_HANDLERS } from '../../workflows/steps/handlers';
import { compilePolicy } from '../../policies/load';
import { answer, fakeRun } from './steps-harness';

const ACTIVE = STEP_TYPES.filter((s): s is ActiveStep => !isTerminal(s));
const catalog = { agents: ['helper'], tools: ['lookup', 'ticket_create'] };
const tenantBudget = compilePolicy(
  [
    {
      file: 'p.yaml',
      text: "budgets:\n  tenants:\n    acme: { daily_cost_usd: 5 }\nrules:\n  - { id: models, action: model_call, effect: allow }\n  - { id: tools, action: tool_call, when: { tools: ['*'] }, effect: allow }\n",
    },
  ],
  catalog,
);

describe.each(ACTIVE)('before %s', (step) => {
  test.each([
    ['cancelled', 'Fail'],
    ['taken_over', 'Complete'],
  ] as const)('a pending %s ends it: %s', (type, next) => {
    const { ctx, interrupts } = fakeRun();
    interrupts.interruptWith(type, 'by someone');
    expect(ctx.pendingInterrupt()).toEqual({ type, detail: 'by someone' });
    expect(transition(step, type)).toBe(next);
  });

  test('a spent step budget becomes budget_exceeded: Fail', () => {
    const { ctx } = fakeRun({ input: { constraints: { max_steps: 1 } } });
    ctx.enter('Plan', 'run started', 'task');
    expect(ctx.pendingInterrupt()).toEqual({ type: 'budget_exceeded', detail: 'max_steps' });
    expect(transition(step, 'budget_exceeded')).toBe('Fail');
  });
});

test('with budget left and no interrupt, the step runs', () => {
  expect(fakeRun().ctx.pendingInterrupt()).toBeUndefined();
});

test('Plan interrupted mid-call answers the interrupt and counts the estimate against the reservation', async () => {
  const run = fakeRun({
    input: { policy: tenantBudget },
    plan: () => {
      run.interrupts.interruptWith('budget_exceeded', 'timeout_seconds');
      return Promise.reject(new Error('cancelled'));
    },
  });
  const out = await STEP_HANDLERS.Plan(run.ctx, { type: 'start', reason: 'run started' });
  expect(out).toEqual({ type: 'budget_exceeded', detail: 'timeout_seconds' });
  expect(run.calls.reserves).toEqual([1]);
  const [settled] = run.calls.settles;
  expect(settled![0]).toBe(1);
  expect(settled![1]).toBeGreaterThan(0);
  expect(run.ctx.ledger.state.steps[0]!.output_summary).toBe('interrupted');
});

test('Plan interrupted while reserving releases the reservation and does not call the model', async () => {
  const run = fakeRun({
    input: { policy: tenantBudget },
    reserve: () => {
      run.interrupts.interruptWith('cancelled', 'by the caller');
      return Promise.reject(new Error('cancelled'));
    },
  });
  expect(await STEP_HANDLERS.Plan(run.ctx, { type: 'continue' })).toEqual({ type: 'cancelled', detail: 'by the caller' });
  expect(run.calls.settles).toEqual([[1, 0, 0]]);
  expect(run.calls.plans).toHaveLength(0);
});

test('Plan settles a granted reservation with what the call spent', async () => {
  const run = fakeRun({ input: { policy: tenantBudget }, plan: async () => answer({ type: 'final', result: 1, reason: '' }, 0.004) });
  expect(await STEP_HANDLERS.Plan(run.ctx, { type: 'continue' })).toEqual({ type: 'final_proposed', result: 1 });
  expect(run.calls.settles).toEqual([[1, 0.004, 15]]);
});

test('a tenant budget that denies the reservation is a budget_denied with its reason, audited', async () => {
  const run = fakeRun({
    input: { policy: tenantBudget },
    reserve: async () => ({
      granted: false,
      replayed: false,
      day: 'd',
      exceeded: 'tenant_daily_cost',
      reason: 'acme spent $5 of $5 today',
    }),
  });
  const out = await STEP_HANDLERS.Plan(run.ctx, { type: 'continue' });
  expect(out).toMatchObject({ type: 'budget_denied', denial: { detail: 'acme spent $5 of $5 today' } });
  expect(run.calls.audits).toEqual([
    expect.objectContaining({ action: 'budget.reserve', outcome: 'denied', rule: 'budgets.tenants.acme' }),
  ]);
  expect(run.calls.plans).toHaveLength(0);
});

test('runs from before budgets came first reserve nothing and check no cost budget', async () => {
  const run = fakeRun({
    budgetsBeforeCall: false,
    input: { policy: tenantBudget, constraints: { max_cost_usd: 0.0001 } },
    plan: async () => answer({ type: 'final', result: 1, reason: '' }),
  });
  expect((await STEP_HANDLERS.Plan(run.ctx, { type: 'continue' })).type).toBe('final_proposed');
  expect(run.calls.reserves).toEqual([]);
  expect(run.calls.settles).toEqual([]);
});

test('ToolCall interrupted mid-call answers the interrupt', async () => {
  const run = fakeRun({
    callTool: () => {
      run.interrupts.interruptWith('taken_over', 'op: done by hand');
      return Promise.reject(new Error('cancelled'));
    },
  });
  const out = await STEP_HANDLERS.ToolCall(run.ctx, { type: 'tool_requested', request: { tool: 'lookup', args: {}, reason: '' } });
  expect(out).toEqual({ type: 'taken_over', detail: 'op: done by hand' });
});

test('HumanApproval interrupted while waiting withdraws the approval and answers the interrupt', async () => {
  const run = fakeRun({
    def: { fallback: { escalate_to: { roles: ['oncall'], subjects: [] } } },
    decide: () => {
      run.interrupts.interruptWith('cancelled', 'by the caller');
      throw new Error('cancelled');
    },
  });
  const failure = { type: 'E', message: 'm', from: 'tool' } as const;
  expect(await STEP_HANDLERS.HumanApproval(run.ctx, { type: 'escalate', failure })).toEqual({ type: 'cancelled', detail: 'by the caller' });
  expect(run.ctx.ledger.state.approvals[0]!.status).toBe('withdrawn');
});

test('HumanApproval with no decision by the deadline expires: the tool call is rejected', async () => {
  const run = fakeRun();
  const rule = {
    tool: 'ticket_create',
    reason: 'r',
    approvers: { roles: ['a'], subjects: [] },
    quorum: 1,
    timeout_seconds: 5,
    on_timeout: 'reject' as const,
  };
  const out = await STEP_HANDLERS.HumanApproval(run.ctx, {
    type: 'approval_required',
    request: { tool: 'ticket_create', args: {}, reason: '' },
    ask: { rule, step: 1, required_by: 'agent' },
  });
  expect(out).toEqual({ type: 'rejected', kind: 'tool_call' });
  expect(run.ctx.ledger.state.approvals[0]!.status).toBe('expired');
  expect(run.ctx.ledger.warnings).toEqual(['ticket_create was not run: no decision before the deadline']);
});
