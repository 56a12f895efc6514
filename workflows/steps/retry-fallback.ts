// RetryFallback: after a failed model or tool call (or an approved escalation), retry, fall back to the
// agent's fallback model, escalate to a human, or give up.
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';

/** Chooses, in order: the escalation approver's retry, the fallback model (once), an escalation, giving up. */
export function retryFallback(ctx: RunContext, event: EventInto<'RetryFallback'>): EventFrom<'RetryFallback'> {
  const { def } = ctx;
  const step = ctx.enter(
    'RetryFallback',
    reasonOf(event),
    event.failure ? `${event.failure.type}: ${event.failure.message}` : 'human asked to retry',
  );
  if (event.type === 'retry') {
    ctx.finish(step, 'retry, as the escalation approver decided');
    return { type: 'retry' };
  }
  const { failure } = event;
  if (failure.from === 'model' && def.fallback?.model && !ctx.ledger.fallbackUsed) {
    ctx.ledger.fallbackUsed = true;
    ctx.ledger.warnings.push(
      `model ${def.model.provider}/${def.model.name} failed (${failure.type}); fell back to ${def.fallback.model.provider}/${def.fallback.model.name}`,
    );
    ctx.finish(step, `fall back to ${def.fallback.model.provider}/${def.fallback.model.name}`);
    return { type: 'fallback' };
  }
  if (def.fallback?.escalate_to) {
    ctx.display.approval = { kind: 'escalation', approvers: def.fallback.escalate_to };
    ctx.finish(step, 'escalate to a human');
    return { type: 'escalate', failure };
  }
  ctx.finish(step, 'give up');
  return { type: 'give_up', error: { type: failure.type, message: failure.message } };
}
