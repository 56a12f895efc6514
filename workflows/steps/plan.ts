// Plan: the model chooses the next action (a tool call or the final result), once the policy allows
// the call and the budgets can cover it (./plan-budget).
import type { ModelCall, ModelSettings } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Reservation } from '../../contracts/governance';
import type { PlanRequest, PlanResult, Step, Usage } from '../../contracts/run';
import { planOptions } from '../activity-options';
import { findCause } from '../../shared/errors';
import { isApplicationFailure, summarize } from '../describe';
import { checkPolicy } from '../policy-checks';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';
import {
  afterReservation,
  budgetToReserve,
  costOf,
  holdOf,
  NO_HOLD,
  overRunBudget,
  reservationFailed,
  type BudgetHold,
  type CallCost,
} from './plan-budget';

/**
 * Calls the model (the fallback model once the run has fallen back) and hands its action to the next
 * step. The awaits stay in this one function, as before it was split: a helper that awaited would add
 * microtask turns, and commands scheduled in them (an approval's row) would change places in the history.
 */
export async function plan(ctx: RunContext, event: EventInto<'Plan'>): Promise<EventFrom<'Plan'>> {
  const { def, input } = ctx;
  const model = ctx.ledger.fallbackUsed && def.fallback?.model ? def.fallback.model : def.model;
  const step = ctx.enter('Plan', reasonOf(event), summarize(input.task));
  const denied = modelPolicy(ctx, step, model);
  if (denied) return denied;
  // Budgets before the call: the run's own cost budget, then the tenant's daily budget (reserved).
  const cost = costOf(ctx, model);
  const over = overRunBudget(ctx, step, model, cost);
  if (over) return over;
  const tenantBudget = budgetToReserve(ctx, cost);
  let hold = NO_HOLD;
  if (tenantBudget) {
    hold = holdOf(ctx, step);
    let reservation: Reservation;
    try {
      reservation = await ctx.inStep(() => ctx.services.governance.reserve(step.index, cost.estimate, tenantBudget));
    } catch (err) {
      return reservationFailed(ctx, step, hold, err);
    }
    const notReserved = afterReservation(ctx, step, model, cost, hold, reservation);
    if (notReserved) return notReserved;
  }
  let result: PlanResult;
  try {
    result = await ctx.inStep(() => ctx.services.activities(planOptions(def, model)).plan(planRequest(ctx, step, model)));
  } catch (err) {
    return callFailed(ctx, step, cost, hold, err);
  }
  return answered(ctx, step, hold, result);
}

/** The policy's decision on the model call, recorded on the step; the denial that ends it, if any. */
function modelPolicy(ctx: RunContext, step: Step, model: ModelSettings): EventFrom<'Plan'> | undefined {
  const decision = checkPolicy(ctx.input, ctx.ledger.usage, 'model_call', { agent: ctx.def.name });
  if (decision) step.policy = { effect: decision.effect, rule: decision.rule, reason: decision.reason };
  if (!decision || decision.effect === 'allow') return undefined;
  const error = {
    type: ErrorCode.PolicyDenied,
    message: `policy ${decision.effect === 'deny' ? 'denied' : 'did not allow'} the model call: ${decision.reason}`,
  };
  ctx.finish(step, 'denied by policy', error);
  ctx.services.governance.audit(step.index, {
    action: 'policy.model_call',
    outcome: decision.effect,
    reason: decision.reason,
    rule: decision.rule,
    details: { model: `${model.provider}/${model.name}` },
  });
  return { type: 'model_denied', error };
}

/** What the model is asked: the agent (with the model in use), the task, its context and the observations so far. */
function planRequest(ctx: RunContext, step: Step, model: ModelSettings): PlanRequest {
  const { def, input } = ctx;
  return {
    run_id: ctx.runId,
    step: step.index,
    agent: model === def.model ? input.agent : { ...input.agent, definition: { ...def, model } },
    task: input.task,
    context: input.context,
    ...(input.context_labels ? { context_labels: input.context_labels } : {}),
    observations: ctx.ledger.observations,
    output_spec: input.output_spec ?? def.output_schema,
  };
}

/** A model call that did not answer: interrupted (the estimate counts) or failed (what the vendor billed counts). */
function callFailed(ctx: RunContext, step: Step, cost: CallCost, hold: BudgetHold, err: unknown): EventFrom<'Plan'> {
  if (ctx.interrupted(err)) {
    // Interrupted mid-call: the vendor may have billed it; count the estimate.
    hold.settle(cost.estimate.cost_usd, cost.estimate.tokens);
    return ctx.stopped(step);
  }
  // Vendors do not bill failed requests, but an answer that failed validation was billed: it counts.
  const billed = ctx.services.patched('model-usage-on-failure') ? billedCall(err) : {};
  hold.settle(billed.usage?.cost_usd ?? 0, billed.usage ? billed.usage.input_tokens + billed.usage.output_tokens : 0);
  spent(ctx, step, billed.usage, billed.call);
  return { type: 'model_failed', failure: ctx.failed(step, err, 'model') };
}

/** The model's answer: settles the hold, counts the usage and hands on the action. */
function answered(ctx: RunContext, step: Step, hold: BudgetHold, result: PlanResult): EventFrom<'Plan'> {
  hold.settle(result.usage.cost_usd, result.usage.input_tokens + result.usage.output_tokens);
  spent(ctx, step, result.usage, result.call);
  // A repair turn inside the call spends one of the agent's max_repairs.
  if (result.call) ctx.ledger.repairs += result.call.repairs;
  ctx.finish(step, summarize(result.action));
  if (result.action.type === 'final') return { type: 'final_proposed', result: result.action.result };
  ctx.display.tool = result.action.tool;
  return { type: 'tool_requested', request: { tool: result.action.tool, args: result.action.args, reason: result.action.reason } };
}

/** Records what a model call spent on its step and in the run's usage, and how the call went. */
function spent(ctx: RunContext, step: Step, usage: Usage | undefined, call: ModelCall | undefined): void {
  if (usage) {
    step.usage = usage;
    ctx.ledger.spend(usage);
  }
  if (call) step.model = call;
}

/** The usage and call record a model failure carries when the vendor answered (and billed) before it failed. */
function billedCall(err: unknown): { usage?: Usage; call?: ModelCall } {
  const detail = findCause(err, isApplicationFailure)?.details?.[0] as { usage?: Partial<Usage>; call?: ModelCall } | undefined;
  const u = detail?.usage;
  const valid = u && [u.input_tokens, u.output_tokens, u.cost_usd].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
  return { ...(valid ? { usage: u as Usage } : {}), ...(detail?.call ? { call: detail.call } : {}) };
}
