// Decide: after a tool result, a rejection or a budget denial, whether the run goes on with the model,
// falls back to a cheaper model or gives up.
import { ErrorCode } from '../../contracts/errors';
import { estimateCall } from '../../shared/cost';
import type { RunContext } from '../run-context';
import type { RunEvent } from '../state-machine';

/** Continues with the model, falls back once to a cheaper model the budget may cover, or gives up. */
export function decide(ctx: RunContext, reason: string): RunEvent {
  const { def } = ctx;
  const outcome = ctx.lastApprovalOutcome;
  const step = ctx.enter(
    'Decide',
    reason,
    ctx.budgetDenial
      ? `after a budget denial: ${ctx.budgetDenial.detail}`
      : outcome && !outcome.approved
        ? 'after a rejection'
        : 'after a tool result',
  );
  if (ctx.budgetDenial) {
    const denied = ctx.budgetDenial;
    ctx.budgetDenial = undefined;
    const cheaper = def.fallback?.model;
    if (cheaper && !ctx.fallbackUsed && estimateCall(cheaper, denied.promptChars).cost_usd < denied.estimate.cost_usd) {
      ctx.fallbackUsed = true;
      ctx.warnings.push(
        `the budget could not cover ${def.model.provider}/${def.model.name} (${denied.detail}); fell back to the cheaper ${cheaper.provider}/${cheaper.name}`,
      );
      ctx.finish(step, `fall back to the cheaper ${cheaper.provider}/${cheaper.name}`);
      return 'fallback';
    }
    ctx.endError = { type: ErrorCode.BudgetExceeded, message: `budget_exceeded: ${denied.detail}` };
    ctx.finish(step, 'give up: no cheaper model to fall back to');
    return 'give_up';
  }
  if (outcome?.kind === 'escalation' && !outcome.approved) {
    const failure = ctx.lastFailure;
    ctx.endError = { type: failure?.type ?? ErrorCode.RunFailed, message: `gave up after escalation: ${failure?.message ?? ''}` };
    ctx.finish(step, 'give up');
    return 'give_up';
  }
  ctx.lastApprovalOutcome = undefined;
  ctx.finish(step, 'continue with the model');
  return 'continue';
}
