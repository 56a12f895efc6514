// Validate: a tool's output was checked by its activity; a proposed final result is checked against the
// run's output_spec (or the agent's output schema) and sent back to the model for repair a few times.
import { ErrorCode } from '../../contracts/errors';
import { checkOutputSpec } from '../../shared/output-spec';
import { summarize } from '../describe';
import type { RunContext } from '../run-context';
import { reasonOf, type EventFrom, type EventInto } from '../state-machine';

/** Accepts the tool output or the final result, asks for a repair, or fails the run once repairs run out. */
export function validate(ctx: RunContext, event: EventInto<'Validate'>): EventFrom<'Validate'> {
  const { def, input } = ctx;
  const reason = reasonOf(event);
  // A final action without a result has always been taken for a tool output: runs in flight replay so.
  if (event.type === 'tool_succeeded' || event.result === undefined) {
    const step = ctx.enter('Validate', reason, 'tool output');
    // The tool activity already checked the output against the tool's own schema.
    ctx.finish(step, 'tool output matches its schema');
    return { type: 'output_valid' };
  }
  const { result } = event;
  const step = ctx.enter('Validate', reason, summarize(result));
  const spec = input.output_spec ?? def.output_schema;
  const violations = spec ? checkOutputSpec(spec, result) : [];
  if (violations.length === 0) {
    ctx.finish(step, spec ? 'result matches output_spec' : 'no output_spec');
    return { type: 'final_valid', result };
  }
  const message = `result violates output_spec: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`;
  ctx.finish(step, undefined, { type: ErrorCode.OutputSpecViolation, message });
  if (ctx.ledger.repairs < def.max_repairs) {
    ctx.ledger.repairs += 1;
    ctx.ledger.observations.push({
      step: step.index,
      tool: 'output_spec',
      args: {},
      output: { rejected_result: result, violations },
      evidence: [],
    });
    return { type: 'final_invalid_repairable' };
  }
  return { type: 'final_invalid', error: { type: ErrorCode.OutputSpecViolation, message } };
}
