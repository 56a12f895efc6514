import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorCode } from '../contracts/errors';
import type { AgentRunInput, AgentRunOutput, ApprovalUpdateInput, StepType, TakeoverUpdateInput } from '../contracts/run';
import { decideApproval, validateApprovalDecision } from './approval-handlers';
import { summarize } from './describe';
import { approvalUpdate, stateQuery, takeoverUpdate } from './messages';
import { runFailed } from './observe';
import type { RunContext } from './run-context';
import { reasonOf, type RunEvent, type RunStart } from './events';
import { isTerminal, transition, type ActiveStep } from './state-machine';
import { STEP_HANDLERS, type StepHandler } from './steps/handlers';
import { workflowRun } from './workflow-run';

/** Steps recorded in one Temporal run before continuing-as-new, unless the agent sets its own. */
const DEFAULT_STEPS_PER_HISTORY = 200;

/**
 * One agent run: a loop that interprets the transition table in ./state-machine. Each step handler
 * (./steps) is handed the event that led to it, does its work (activities for anything with effects)
 * and reports an event carrying what the next step needs; the table says which step comes next.
 * Budgets are checked before every step; cancellation, the deadline and a manual takeover interrupt
 * whatever step is running.
 */
export async function agentRun(input: AgentRunInput): Promise<AgentRunOutput> {
  const ctx = workflowRun(input);
  const { def, labels, ledger, services } = ctx;
  const { state } = ledger;
  const approvals = { runId: ctx.runId, labels, state, governance: services.governance };

  setHandler(stateQuery, () => state);
  setHandler(approvalUpdate, (u) => decideApproval(approvals, u), {
    validator: (u: ApprovalUpdateInput) => validateApprovalDecision(approvals, u),
  });
  setHandler(takeoverUpdate, (u) => ctx.takeOver(u), { validator: (u: TakeoverUpdateInput) => ctx.validateTakeover(u) });
  ctx.armDeadline();

  log.info('run started', { ...labels, generation: input.carry?.generation ?? 0 });
  let current: StepType = 'Plan';
  let last: RunEvent | RunStart = { type: 'start', reason: input.carry ? 'continued as new' : 'run started' };
  while (!isTerminal(current)) {
    let event: RunEvent | undefined = ctx.pendingInterrupt();
    if (!event) {
      // Keep each Temporal run's history small: at a Plan boundary, carry the state into a fresh run.
      const longHistory = state.steps.length - ledger.stepsAtStart >= (def.budgets.steps_per_history ?? DEFAULT_STEPS_PER_HISTORY);
      if (current === 'Plan' && (longHistory || workflowInfo().continueAsNewSuggested)) {
        services.attributes.flush();
        await condition(allHandlersFinished);
        await services.governance.written();
        log.info('continuing as new', { ...labels, steps: state.steps.length });
        return await continueAsNew<typeof agentRun>({ ...input, carry: ledger.carry() });
      }
      // A step that does no I/O answers at once and the next step starts in the same turn, so no update
      // or timer lands in between (docs/changing-workflows.md).
      // The table guarantees the event is one that leads into `current`, which the handler types spell out.
      const handler = STEP_HANDLERS[current] as StepHandler<ActiveStep>;
      const outcome = handler(ctx, last as Parameters<StepHandler<ActiveStep>>[1]);
      event = outcome instanceof Promise ? await outcome : outcome;
    }
    current = transition(current, event.type);
    last = event;
  }
  return current === 'Complete' ? complete(ctx, last as RunEvent) : fail(ctx, last as RunEvent);
}

/** The Complete step: the agent's result, or the operator's after a takeover. */
async function complete(ctx: RunContext, event: RunEvent): Promise<AgentRunOutput> {
  const { state } = ctx.ledger;
  state.output.evidence = ctx.ledger.evidence();
  const byHand = event.type === 'taken_over' ? ctx.services.interrupts.takeover : undefined;
  const completedBy = byHand ? 'human' : 'agent';
  if (byHand) {
    ctx.ledger.warnings.push(`completed by hand by ${byHand.operator.subject}: ${byHand.reason}`);
    state.output.result = byHand.result;
  } else {
    state.output.result = event.type === 'final_valid' ? event.result : undefined;
  }
  const step = ctx.enter('Complete', reasonOf(event), summarize(state.output.result));
  ctx.finish(step, byHand ? 'result provided by a human' : 'result from the agent');
  state.output.completed_by = completedBy;
  state.status = 'completed';
  state.current = 'Complete';
  log.info('run completed', { ...ctx.labels, steps: state.steps.length, completed_by: completedBy });
  if (byHand) {
    ctx.services.governance.audit(step.index, {
      action: 'run.taken_over',
      outcome: 'completed',
      principal: byHand.operator.subject,
      reason: byHand.reason,
    });
  }
  await ended(ctx);
  return {
    status: 'completed',
    ...state.output,
    usage: ctx.ledger.usage,
    steps: state.steps,
    approvals: state.approvals,
    completed_by: completedBy,
  };
}

/** The Fail step: the interrupt's error or the one a step ended with; a cancelled run ends as Cancelled. */
async function fail(ctx: RunContext, event: RunEvent): Promise<never> {
  const { state } = ctx.ledger;
  state.output.evidence = ctx.ledger.evidence();
  const cancelled = event.type === 'cancelled';
  const error =
    event.type === 'budget_exceeded'
      ? { type: ErrorCode.BudgetExceeded, message: `budget_exceeded: ${event.detail}` }
      : event.type === 'cancelled'
        ? { type: ErrorCode.Cancelled, message: event.detail }
        : 'error' in event
          ? event.error
          : { type: ErrorCode.RunFailed, message: 'the run failed' };
  const step = ctx.enter('Fail', reasonOf(event), error.message);
  ctx.finish(step, undefined, error);
  runFailed(error);
  state.status = cancelled ? 'cancelled' : 'failed';
  log.warn(cancelled ? 'run cancelled' : 'run failed', { ...ctx.labels, error_type: error.type, error: error.message });
  // Cancellations also come from the Web UI and the CLI, which the gateway never sees: the run records them.
  if (cancelled)
    ctx.services.governance.audit(step.index, {
      action: 'run.cancelled',
      outcome: 'cancelled',
      principal: 'temporal',
      reason: error.message,
    });
  await ended(ctx);
  const output: AgentRunOutput = {
    status: state.status,
    ...state.output,
    usage: ctx.ledger.usage,
    steps: state.steps,
    approvals: state.approvals,
    error,
  };
  // A cancelled run ends as Cancelled in Temporal; its steps and actions stay readable through the state query.
  if (cancelled) throw new CancelledFailure(error.message);
  throw ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, details: [output] });
}

/** Before the run ends: its governance writes are in and no update handler is still running. */
async function ended(ctx: RunContext): Promise<void> {
  ctx.services.attributes.flush();
  await ctx.services.governance.written();
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
}
