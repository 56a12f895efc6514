// Validate: a tool's output was checked by its activity; a proposed final result is checked against the
// run's output_spec (or the agent's output schema) and sent back to the model for repair a few times.
import { ErrorCode } from '../../contracts/errors';
import { checkOutputSpec } from '../../shared/output-spec';
import { summarize } from '../describe';
import type { RunContext } from '../run-context';
import type { RunEvent } from '../state-machine';

/** Accepts the tool output or the final result, asks for a repair, or fails the run once repairs run out. */
export function validate(ctx: RunContext, reason: string): RunEvent {
  const { def, input } = ctx;
  if (ctx.finalResult === undefined) {
    const step = ctx.enter('Validate', reason, 'tool output');
    // The tool activity already checked the output against the tool's own schema.
    ctx.finish(step, 'tool output matches its schema');
    return 'output_valid';
  }
  const step = ctx.enter('Validate', reason, summarize(ctx.finalResult));
  const spec = input.output_spec ?? def.output_schema;
  const violations = spec ? checkOutputSpec(spec, ctx.finalResult) : [];
  if (violations.length === 0) {
    ctx.finish(step, spec ? 'result matches output_spec' : 'no output_spec');
    return 'final_valid';
  }
  const message = `result violates output_spec: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`;
  ctx.finish(step, undefined, { type: ErrorCode.OutputSpecViolation, message });
  if (ctx.repairs < def.max_repairs) {
    ctx.repairs += 1;
    ctx.observations.push({
      step: step.index,
      tool: 'output_spec',
      args: {},
      output: { rejected_result: ctx.finalResult, violations },
      evidence: [],
    });
    ctx.finalResult = undefined;
    return 'final_invalid_repairable';
  }
  ctx.endError = { type: ErrorCode.OutputSpecViolation, message };
  return 'final_invalid';
}
