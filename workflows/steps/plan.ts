// Plan: the model chooses the next action (a tool call or the final result), once the policy allows
// the call and the budgets can cover it.
import { ApplicationFailure } from '@temporalio/workflow';
import type { ModelCall } from '../../contracts/agent';
import { ErrorCode } from '../../contracts/errors';
import type { Reservation } from '../../contracts/governance';
import type { PlanResult, Step, Usage } from '../../contracts/run';
import { estimateCall, nanoUsd, type CallEstimate } from '../../shared/cost';
import { planOptions } from '../activity-options';
import { summarize } from '../describe';
import { checkPolicy } from '../policy-checks';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';

/** Calls the model (the fallback model once the run has fallen back) and hands its action to the next step. */
export async function plan(ctx: RunContext, event: EventInto<'Plan'>): Promise<EventFrom<'Plan'>> {
  const { def, input } = ctx;
  const model = ctx.ledger.fallbackUsed && def.fallback?.model ? def.fallback.model : def.model;
  const step = ctx.enter('Plan', reasonOf(event), summarize(input.task));
  const modelDecision = checkPolicy(input, ctx.ledger.usage, 'model_call', { agent: def.name });
  if (modelDecision) step.policy = { effect: modelDecision.effect, rule: modelDecision.rule, reason: modelDecision.reason };
  if (modelDecision && modelDecision.effect !== 'allow') {
    const error = {
      type: ErrorCode.PolicyDenied,
      message: `policy ${modelDecision.effect === 'deny' ? 'denied' : 'did not allow'} the model call: ${modelDecision.reason}`,
    };
    ctx.finish(step, 'denied by policy', error);
    ctx.services.governance.audit(step.index, {
      action: 'policy.model_call',
      outcome: modelDecision.effect,
      reason: modelDecision.reason,
      rule: modelDecision.rule,
      details: { model: `${model.provider}/${model.name}` },
    });
    return { type: 'model_denied', error };
  }
  // Budgets before the call: the run's own cost budget, then the tenant's daily budget (reserved).
  const promptChars =
    def.instructions.length + input.task.length + JSON.stringify(input.context).length + JSON.stringify(ctx.ledger.observations).length;
  const estimate = estimateCall(model, promptChars);
  const notCalled = (detail: string): EventFrom<'Plan'> => {
    ctx.finish(step, `not called: ${model.provider}/${model.name} needs up to $${estimate.cost_usd}`, {
      type: ErrorCode.BudgetExceeded,
      message: `budget_exceeded: ${detail}`,
    });
    return { type: 'budget_denied', denial: { detail, estimate, promptChars } };
  };
  const { limits, tenantBudget } = ctx;
  const { usage } = ctx.ledger;
  if (
    ctx.budgetsBeforeCall &&
    limits.max_cost_usd !== undefined &&
    estimate.cost_usd > 0 &&
    nanoUsd(usage.cost_usd + estimate.cost_usd) > limits.max_cost_usd
  ) {
    return notCalled(`max_cost_usd: the run has spent $${nanoUsd(usage.cost_usd)} of $${limits.max_cost_usd}`);
  }
  const reserving =
    ctx.budgetsBeforeCall &&
    tenantBudget !== undefined &&
    ((tenantBudget.daily_cost_usd !== undefined && estimate.cost_usd > 0) || tenantBudget.daily_tokens !== undefined);
  if (reserving) {
    let reservation: Reservation;
    try {
      reservation = await ctx.inStep(() => ctx.services.governance.reserve(step.index, estimate, tenantBudget));
    } catch (err) {
      if (ctx.interrupted(err)) {
        // The call was not made: release whatever a reservation attempt may have committed.
        ctx.services.governance.settle(step.index, 0, 0);
        return ctx.stopped(step);
      }
      return { type: 'model_failed', failure: ctx.failed(step, err, 'model') };
    }
    if (!reservation.granted) {
      deniedReservation(ctx, step, `${model.provider}/${model.name}`, estimate, reservation);
      return notCalled(reservation.reason ?? reservation.exceeded ?? 'tenant_daily_cost');
    }
    if (ctx.interrupt) {
      // Interrupted while reserving: the call is not made, so nothing is spent.
      ctx.services.governance.settle(step.index, 0, 0);
      return ctx.stopped(step);
    }
  }
  const agent = model === def.model ? input.agent : { ...input.agent, definition: { ...def, model } };
  let result: PlanResult;
  try {
    result = await ctx.inStep(() =>
      ctx.services.activities(planOptions(def, model)).plan({
        run_id: ctx.runId,
        step: step.index,
        agent,
        task: input.task,
        context: input.context,
        ...(input.context_labels ? { context_labels: input.context_labels } : {}),
        observations: ctx.ledger.observations,
        output_spec: input.output_spec ?? def.output_schema,
      }),
    );
  } catch (err) {
    if (ctx.interrupted(err)) {
      // Interrupted mid-call: the vendor may have billed it; count the estimate.
      if (reserving) ctx.services.governance.settle(step.index, estimate.cost_usd, estimate.tokens);
      return ctx.stopped(step);
    }
    // Vendors do not bill failed requests, but an answer that failed validation was billed: it counts.
    const billed = ctx.services.patched('model-usage-on-failure') ? billedCall(err) : {};
    if (reserving) {
      ctx.services.governance.settle(
        step.index,
        billed.usage?.cost_usd ?? 0,
        billed.usage ? billed.usage.input_tokens + billed.usage.output_tokens : 0,
      );
    }
    if (billed.usage) {
      step.usage = billed.usage;
      usage.input_tokens += billed.usage.input_tokens;
      usage.output_tokens += billed.usage.output_tokens;
      usage.cost_usd += billed.usage.cost_usd;
    }
    if (billed.call) step.model = billed.call;
    return { type: 'model_failed', failure: ctx.failed(step, err, 'model') };
  }
  if (reserving) ctx.services.governance.settle(step.index, result.usage.cost_usd, result.usage.input_tokens + result.usage.output_tokens);
  step.usage = result.usage;
  if (result.call) {
    step.model = result.call;
    // A repair turn inside the call spends one of the agent's max_repairs.
    ctx.ledger.repairs += result.call.repairs;
  }
  usage.input_tokens += result.usage.input_tokens;
  usage.output_tokens += result.usage.output_tokens;
  usage.cost_usd += result.usage.cost_usd;
  ctx.finish(step, summarize(result.action));
  if (result.action.type === 'final') return { type: 'final_proposed', result: result.action.result };
  ctx.display.tool = result.action.tool;
  return { type: 'tool_requested', request: { tool: result.action.tool, args: result.action.args, reason: result.action.reason } };
}

/** The usage and call record a model failure carries when the vendor answered (and billed) before it failed. */
function billedCall(err: unknown): { usage?: Usage; call?: ModelCall } {
  let cause: unknown = err;
  while (cause instanceof Error && !(cause instanceof ApplicationFailure) && cause.cause) cause = cause.cause;
  const detail =
    cause instanceof ApplicationFailure ? (cause.details?.[0] as { usage?: Partial<Usage>; call?: ModelCall } | undefined) : undefined;
  const u = detail?.usage;
  const valid = u && [u.input_tokens, u.output_tokens, u.cost_usd].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
  return { ...(valid ? { usage: u as Usage } : {}), ...(detail?.call ? { call: detail.call } : {}) };
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
