// RetryFallback: after a failed model or tool call (or an approved escalation), retry, fall back to the
// agent's fallback model, escalate to a human, or give up.
import { ErrorCode } from '../../contracts/errors';
import type { RunContext } from '../run-context';
import type { RunEvent } from '../state-machine';

/** Chooses, in order: the escalation approver's retry, the fallback model (once), an escalation, giving up. */
export function retryFallback(ctx: RunContext, reason: string): RunEvent {
  const { def } = ctx;
  const failure = ctx.lastFailure;
  const step = ctx.enter('RetryFallback', reason, failure ? `${failure.type}: ${failure.message}` : 'human asked to retry');
  if (ctx.lastApprovalOutcome?.kind === 'escalation' && ctx.lastApprovalOutcome.approved) {
    ctx.lastApprovalOutcome = undefined;
    ctx.finish(step, 'retry, as the escalation approver decided');
    return 'retry';
  }
  if (failure?.from === 'model' && def.fallback?.model && !ctx.fallbackUsed) {
    ctx.fallbackUsed = true;
    ctx.warnings.push(
      `model ${def.model.provider}/${def.model.name} failed (${failure.type}); fell back to ${def.fallback.model.provider}/${def.fallback.model.name}`,
    );
    ctx.finish(step, `fall back to ${def.fallback.model.provider}/${def.fallback.model.name}`);
    return 'fallback';
  }
  if (def.fallback?.escalate_to) {
    ctx.approvalFor = { kind: 'escalation' };
    ctx.finish(step, 'escalate to a human');
    return 'escalate';
  }
  ctx.endError = { type: failure?.type ?? ErrorCode.RunFailed, message: failure?.message ?? 'the run failed' };
  ctx.finish(step, 'give up');
  return 'give_up';
}
