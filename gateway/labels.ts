import { LABELS, type Label } from '../contracts/policy';
import { checkOutputSpec, jsonSchemaProblem } from '../shared/output-spec';
import { HttpProblem } from './problem';

/**
 * Each context field's label: the higher of what the agent's input_schema declares for it
 * (`x-classification`) and what the caller claims; unlabelled fields are internal. A claim lower than
 * the declared label is refused, so a caller cannot launder confidential data as public.
 */
export function effectiveLabels(
  schema: Record<string, unknown> | undefined,
  context: Record<string, unknown>,
  claimed: Record<string, Label>,
): Record<string, Label> {
  const declaredOf = (field: string): Label | undefined => {
    const props = (schema?.properties ?? {}) as Record<string, { 'x-classification'?: Label }>;
    return props[field]?.['x-classification'];
  };
  const out: Record<string, Label> = {};
  const errors: { path: string; message: string }[] = [];
  for (const field of new Set([...Object.keys(context), ...Object.keys(claimed)])) {
    const declared = declaredOf(field);
    const claim = claimed[field];
    if (declared && claim && LABELS.indexOf(claim) < LABELS.indexOf(declared)) {
      errors.push({ path: `context_labels.${field}`, message: `claims ${claim}, but the agent declares ${field} as ${declared}` });
    }
    const candidates = [declared, claim].filter((l): l is Label => l !== undefined);
    out[field] = candidates.length ? candidates.reduce((a, b) => (LABELS.indexOf(a) >= LABELS.indexOf(b) ? a : b)) : 'internal';
  }
  if (errors.length) {
    throw new HttpProblem(
      400,
      'classification-too-low',
      'Context classification too low',
      errors.map((e) => `${e.path}: ${e.message}`).join('; '),
      { errors },
    );
  }
  return out;
}

/** A 400 unless `outputSpec` is a usable JSON Schema. */
export function checkOutputSpecUsable(outputSpec: Record<string, unknown> | undefined): void {
  const problem = outputSpec && jsonSchemaProblem(outputSpec);
  if (problem) {
    throw new HttpProblem(400, 'validation-error', 'Request body is invalid', `output_spec: not a usable JSON Schema: ${problem}`, {
      errors: [{ path: 'output_spec', message: `not a usable JSON Schema: ${problem}` }],
    });
  }
}

/** A 400 listing every field of `context` that does not match the agent's input_schema. */
export function checkContext(agent: string, inputSchema: Record<string, unknown> | undefined, context: Record<string, unknown>): void {
  const violations = inputSchema ? checkOutputSpec(inputSchema, context) : [];
  if (violations.length) {
    const errors = violations.map((v) => ({ path: `context${v.path === '/' ? '' : v.path.replaceAll('/', '.')}`, message: v.message }));
    throw new HttpProblem(400, 'validation-error', 'Request body is invalid', `context does not match ${agent}'s input_schema`, { errors });
  }
}
