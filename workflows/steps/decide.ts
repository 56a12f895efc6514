// Decide: after a tool result, a rejection or a budget denial, whether the run goes on with the model,
// falls back to a cheaper model or gives up.
import { ErrorCode } from '../../contracts/errors';
import { estimateCall } from '../../shared/cost';
import type { BudgetDenial } from '../events';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';
import type { Step } from '../../contracts/run';

/** Continues with the model, falls back once to a cheaper model the budget may cover, or gives up. */
export function decide(ctx: RunContext, event: EventInto<'Decide'>): EventFrom<'Decide'> {
  const summary =
    event.type === 'budget_denied'
      ? `after a budget denial: ${event.denial.detail}`
      : event.type === 'rejected'
        ? 'after a rejection'
        : 'after a tool result';
  const step = ctx.enter('Decide', reasonOf(event), summary);
  if (event.type === 'budget_denied') return afterBudgetDenial(ctx, step, event.denial);
  if (event.type === 'rejected' && event.kind === 'escalation') {
    const error = { type: event.failure.type, message: `gave up after escalation: ${event.failure.message}` };
    ctx.finish(step, 'give up');
    return { type: 'give_up', error };
  }
  ctx.finish(step, 'continue with the model');
  return { type: 'continue' };
}

/** Falls back to the cheaper model when it costs less than the call the budget denied, else gives up. */
function afterBudgetDenial(ctx: RunContext, step: Step, denied: BudgetDenial): EventFrom<'Decide'> {
  const { def } = ctx;
  const cheaper = def.fallback?.model;
  if (cheaper && !ctx.ledger.fallbackUsed && estimateCall(cheaper, denied.promptChars).cost_usd < denied.estimate.cost_usd) {
    ctx.ledger.fallbackUsed = true;
    ctx.ledger.warnings.push(
      `the budget could not cover ${def.model.provider}/${def.model.name} (${denied.detail}); fell back to the cheaper ${cheaper.provider}/${cheaper.name}`,
    );
    ctx.finish(step, `fall back to the cheaper ${cheaper.provider}/${cheaper.name}`);
    return { type: 'fallback' };
  }
  ctx.finish(step, 'give up: no cheaper model to fall back to');
  return { type: 'give_up', error: { type: ErrorCode.BudgetExceeded, message: `budget_exceeded: ${denied.detail}` } };
}
