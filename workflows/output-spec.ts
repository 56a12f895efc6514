import { Validator } from '@cfworker/json-schema';

export interface SpecViolation {
  /** JSON pointer into the result, e.g. /summary. */
  path: string;
  message: string;
}

/**
 * Checks a final result against the caller's output_spec (JSON Schema 2020-12). @cfworker/json-schema
 * interprets schemas without code generation, so it is deterministic and safe in the workflow sandbox.
 */
export function checkOutputSpec(spec: Record<string, unknown>, result: unknown): SpecViolation[] {
  const validator = new Validator(spec, '2020-12', false);
  const res = validator.validate(result);
  if (res.valid) return [];
  // The innermost errors say what is wrong; the outer ones only repeat that a keyword failed.
  const WRAPPERS = new Set(['properties', 'items', 'prefixItems', 'allOf', '$ref', 'additionalProperties']);
  const deeper = (loc: string) => res.errors.some((o) => o.instanceLocation !== loc && o.instanceLocation.startsWith(`${loc}/`));
  const out: SpecViolation[] = [];
  for (const e of res.errors) {
    if (WRAPPERS.has(e.keyword) && deeper(e.instanceLocation)) continue;
    out.push({ path: e.instanceLocation.replace(/^#/, '') || '/', message: e.error });
  }
  return out;
}

/** A schema that cannot be compiled is a caller error; returns the problem or undefined. */
export function outputSpecProblem(spec: Record<string, unknown>): string | undefined {
  try {
    new Validator(spec, '2020-12', false).validate(null);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
