// Plan's budget checks before a model call: the estimate, the run's own cost budget, and the tenant's
// daily budget, reserved for the call and settled once with what it spent. All synchronous: Plan itself
// awaits the reservation and the call, so the workflow's commands keep their order within a task.
import type { ModelSettings } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Reservation } from '../../contracts/governance';
import type { TenantDailyBudget } from '../../contracts/policy';
import type { Step } from '../../contracts/run';
import { estimateCall, nanoUsd, type CallEstimate } from '../../shared/cost';
import type { BudgetDenial } from '../events';
import type { RunContext } from '../run-context';
import type { EventFrom } from '../state-machine';

/** What the call may cost at most, from the prompt it will send. */
export interface CallCost {
  estimate: CallEstimate;
  promptChars: number;
}

/** The tenant-budget hold of one model call: released or settled once, with what the call spent. */
export interface BudgetHold {
  settle(usd: number, tokens: number): void;
}

/** No reservation was made (no tenant budget, or a run from before budgets were checked first). */
export const NO_HOLD: BudgetHold = { settle: () => undefined };

/** The estimate of a call to the model with the run's prompt as it stands. */
export function costOf(ctx: RunContext, model: ModelSettings): CallCost {
  const { def, input } = ctx;
  const promptChars =
    def.instructions.length + input.task.length + JSON.stringify(input.context).length + JSON.stringify(ctx.ledger.observations).length;
  return { estimate: estimateCall(model, promptChars), promptChars };
}

/** The budget denial that ends the step when the call would take the run over its own cost budget. */
export function overRunBudget(ctx: RunContext, step: Step, model: ModelSettings, cost: CallCost): EventFrom<'Plan'> | undefined {
  const { limits } = ctx;
  const { usage } = ctx.ledger;
  const { estimate } = cost;
  if (!ctx.budgetsBeforeCall || limits.max_cost_usd === undefined || estimate.cost_usd <= 0) return undefined;
  if (nanoUsd(usage.cost_usd + estimate.cost_usd) <= limits.max_cost_usd) return undefined;
  return notCalled(ctx, step, model, {
    detail: `max_cost_usd: the run has spent $${nanoUsd(usage.cost_usd)} of $${limits.max_cost_usd}`,
    ...cost,
  });
}

/** The tenant's daily budget the call must be reserved against, if any (not for runs from before budgets came first). */
export function budgetToReserve(ctx: RunContext, cost: CallCost): TenantDailyBudget | undefined {
  const { tenantBudget } = ctx;
  const reserving =
    ctx.budgetsBeforeCall &&
    tenantBudget !== undefined &&
    ((tenantBudget.daily_cost_usd !== undefined && cost.estimate.cost_usd > 0) || tenantBudget.daily_tokens !== undefined);
  return reserving ? tenantBudget : undefined;
}

/** The hold of a reservation attempt's step, settled through the governance store. */
export function holdOf(ctx: RunContext, step: Step): BudgetHold {
  const { governance } = ctx.services;
  return { settle: (usd, tokens) => governance.settle(step.index, usd, tokens) };
}

/** A reservation that could not be made: interrupted (released, nothing spent) or failed like a model call. */
export function reservationFailed(ctx: RunContext, step: Step, hold: BudgetHold, err: unknown): EventFrom<'Plan'> {
  if (ctx.interrupted(err)) {
    // The call was not made: release whatever a reservation attempt may have committed.
    hold.settle(0, 0);
    return ctx.stopped(step);
  }
  return { type: 'model_failed', failure: ctx.failed(step, err, 'model') };
}

/** The event that ends the step after the reservation's answer (denied, or interrupted meanwhile), or undefined to call the model. */
export function afterReservation(
  ctx: RunContext,
  step: Step,
  model: ModelSettings,
  cost: CallCost,
  hold: BudgetHold,
  reservation: Reservation,
): EventFrom<'Plan'> | undefined {
  if (!reservation.granted) {
    deniedReservation(ctx, step, `${model.provider}/${model.name}`, cost.estimate, reservation);
    return notCalled(ctx, step, model, { detail: reservation.reason ?? reservation.exceeded ?? 'tenant_daily_cost', ...cost });
  }
  if (ctx.interrupt) {
    // Interrupted while reserving: the call is not made, so nothing is spent.
    hold.settle(0, 0);
    return ctx.stopped(step);
  }
  return undefined;
}

/** Ends the step without calling the model: Decide may fall back to a cheaper one. */
function notCalled(ctx: RunContext, step: Step, model: ModelSettings, denial: BudgetDenial): EventFrom<'Plan'> {
  ctx.finish(step, `not called: ${model.provider}/${model.name} needs up to $${denial.estimate.cost_usd}`, {
    type: ErrorCode.BudgetExceeded,
    message: `budget_exceeded: ${denial.detail}`,
  });
  return { type: 'budget_denied', denial };
}

/** Audits and logs a tenant budget that could not cover the call. */
function deniedReservation(ctx: RunContext, step: Step, model: string, estimate: CallEstimate, reservation: Reservation): void {
  const { input } = ctx;
  const rule = Object.hasOwn(input.policy?.budgets?.tenants ?? {}, input.initiator.tenant) ? input.initiator.tenant : '*';
  ctx.services.governance.audit(step.index, {
    action: 'budget.reserve',
    outcome: 'denied',
    reason: reservation.reason ?? reservation.exceeded ?? 'tenant budget',
    rule: `budgets.tenants.${rule}`,
    details: { model, estimate_usd: estimate.cost_usd, estimate_tokens: estimate.tokens },
  });
  ctx.services.log.warn('tenant budget denied a model call', { ...ctx.labels, step: step.index, reason: reservation.reason });
}
